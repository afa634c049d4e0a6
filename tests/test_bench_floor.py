"""The benchmark's floor (bench/floor.py) does its round trips and answers 200, on SQLite and
PostgreSQL, so a floor figure in docs/benchmarks.md is never the speed of an error page."""

from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy import update

from app.core import clock
from app.core.models import SignInSession
from app.database import db
from bench.floor import install_floor
from tests.conftest import AuthActions
from tests.factories import unique_email


@pytest.fixture
def floor(app: Flask) -> FlaskClient:
    return install_floor(app).test_client()


def test_floor_read_answers_after_one_round_trip(floor: FlaskClient) -> None:
    response = floor.get("/bench/floor/read")

    assert (response.status_code, response.json) == (200, {"rows": 1})


def test_floor_rate_limit_counts_in_the_limiters_storage(floor: FlaskClient) -> None:
    first = floor.post("/bench/floor/rate-limit")
    second = floor.post("/bench/floor/rate-limit")

    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json == {"count": first.json["count"] + 1}


@pytest.mark.parametrize("path", ["/bench/floor/write", "/bench/floor/refresh-io"])
def test_floor_writes_commit_one_sessions_row(
    app: Flask, floor: FlaskClient, auth: AuthActions, path: str
) -> None:
    assert auth.register(unique_email()).status_code == 201
    long_ago = clock.utcnow() - timedelta(days=1)
    with app.app_context():
        db.session.execute(update(SignInSession).values(last_used_at=long_ago))
        db.session.commit()

    response = floor.post(path)

    assert response.status_code == 200
    assert response.json["rows"] == 1
    with app.app_context():
        last_used = db.session.scalars(select(SignInSession.last_used_at)).one()
    assert last_used > long_ago
