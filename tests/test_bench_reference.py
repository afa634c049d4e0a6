"""The peers of `make bench` do the work they stand for: the naive stack reads its blocklist
and loads its user on every request, and its refresh rotates (bench/reference/)."""

from sqlalchemy import text

from bench.reference import bare
from bench.reference import naive


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_bare_flask_answers_its_json(tmp_path):
    response = bare.app.test_client().get("/healthz")

    assert (response.status_code, response.json) == (200, {"status": "ok"})


def test_the_naive_peer_serves_me_and_rotates_refresh_tokens_through_its_blocklist(tmp_path):
    app = naive.create_app(f"sqlite:///{tmp_path / 'naive.db'}", wal=True)
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
