"""The peers of `make bench` do the work they stand for: the naive stack reads its blocklist
and loads its user on every request, and its refresh rotates (bench/reference/)."""

from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import text

from app import create_app
from app.database import db
from bench.reference import bare
from bench.reference import naive


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_bare_flask_answers_its_json(tmp_path):
    response = bare.app.test_client().get("/healthz")

    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_the_naive_peer_serves_me_and_rotates_refresh_tokens_through_its_blocklist(tmp_path):
    app = naive.create_app(f"sqlite:///{tmp_path / 'naive.db'}", tune_sqlite=True)
    seeded = naive.seed(app, users=3, revoked=20, refresh_batches=1, batch_size=2)
    client = app.test_client()

    me = client.get("/auth/me", headers=_bearer(seeded.access_tokens[1]))
    rotated = client.post("/auth/refresh", headers=_bearer(seeded.refresh_batches[0][0]))
    replayed = client.post("/auth/refresh", headers=_bearer(seeded.refresh_batches[0][0]))
    following = client.post("/auth/refresh", headers=_bearer(rotated.json["refreshToken"]))

    assert (me.status_code, me.json["username"]) == (200, "peer1")
    assert rotated.status_code == 200 and set(rotated.json) == {"accessToken", "refreshToken"}
    assert replayed.status_code == 401  # its jti is on the blocklist now
    assert following.status_code == 200
    with app.app_context():
        journal = naive.db.session.execute(text("PRAGMA journal_mode")).scalar()
        revoked = naive.db.session.query(naive.RevokedToken).count()
    assert (journal, revoked) == ("wal", 22)


SQLITE_SETTINGS = ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")


def test_the_naive_peer_runs_sqlite_with_the_services_settings(tmp_path):
    """Equal settings on both sides: with synchronous=FULL the peer paid an fsync per commit
    that the service, at NORMAL, does not."""
    peer = naive.create_app(f"sqlite:///{tmp_path / 'naive.db'}", tune_sqlite=True)
    service = create_app("testing", {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 's.db'}"})

    assert _sqlite_settings(peer, naive.db) == _sqlite_settings(service, db)
    assert _sqlite_settings(service, db) == {
        "journal_mode": "wal", "synchronous": 1, "busy_timeout": 10000, "foreign_keys": 1
    }  # fmt: skip


def _sqlite_settings(app: Flask, database: SQLAlchemy) -> dict[str, object]:
    with app.app_context(), database.engine.connect() as connection:
        settings = {
            name: connection.execute(text(f"PRAGMA {name}")).scalar() for name in SQLITE_SETTINGS
        }
        database.session.remove()
        database.engine.dispose()
    return settings
