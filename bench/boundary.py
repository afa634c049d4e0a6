"""The two doors of the one authentication boundary, timed in-process: the same user and token
through the service's own guard (``GET /auth/me``) and through flask-jwt-extended's
``@jwt_required()`` with ``current_user`` (a team's view, as in examples/extension.py).

    python -m bench.boundary [--database-url URL] [--requests N]

A loop calls the WSGI app through Flask's test client, no gunicorn: the figure is the cost of
the code path, not of the server. Each door is timed in alternating rounds, and the median of
the rounds is reported, so a drift of the machine's speed touches both alike.
"""

import argparse
import statistics
import time
from collections.abc import Callable
from tempfile import gettempdir

from flask import Blueprint
from flask import Flask
from flask import jsonify
from flask_jwt_extended import current_user
from flask_jwt_extended import jwt_required
from flask_migrate import upgrade
from sqlalchemy import text

from app import create_app
from app.database import db
from bench.seed import seed

ROUNDS = 7

team = Blueprint("bench_team", __name__, url_prefix="/team")


@team.get("/me")
@jwt_required()
def team_me() -> object:
    return jsonify(id=current_user.id, username=current_user.username)


def _app(database_url: str) -> Flask:
    """The service with the team's view, on a database emptied and migrated afresh."""
    app = create_app(
        "testing",
        {
            "SQLALCHEMY_DATABASE_URI": database_url,
            "RATELIMIT_STORAGE_URI": "memory://",
            "AUTH_AUDIT_BATCHED": True,
        },
    )
    app.register_blueprint(team)
    with app.app_context():
        db.metadata.drop_all(bind=db.engine)
        with db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        upgrade()
    return app


def _timed(call: Callable[[], object], requests: int) -> float:
    started = time.perf_counter()
    for _ in range(requests):
        call()
    return (time.perf_counter() - started) / requests * 1e6


def measure(database_url: str, requests: int) -> dict[str, float]:
    app = _app(database_url)
    token = seed(app, users=1, refresh_batches=0, batch_size=0, filler_rows=0).access_tokens[0]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    doors = {"service guard (/auth/me)": "/auth/me", "@jwt_required() + current_user": "/team/me"}
    for path in doors.values():
        assert client.get(path, headers=headers).status_code == 200, path
    rounds: dict[str, list[float]] = {door: [] for door in doors}
    for _ in range(ROUNDS):
        for door, path in doors.items():
            rounds[door].append(_timed(lambda p=path: client.get(p, headers=headers), requests))
    return {door: statistics.median(times) for door, times in rounds.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=f"sqlite:///{gettempdir()}/bench-boundary.db")
    parser.add_argument("--requests", type=int, default=1000)
    arguments = parser.parse_args()
    for door, micros in measure(arguments.database_url, arguments.requests).items():
        print(f"{door:35} {micros:7.0f} us per request")


if __name__ == "__main__":
    main()
