"""Fixtures: ``app``, ``client``, ``runner`` and ``auth``, on SQLite and on PostgreSQL.

The whole suite runs once per database. Each database is built by the real migration once
per run, and before each test every table is reset to the rows that migration seeds.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import Flask
from flask.testing import FlaskClient
from flask.testing import FlaskCliRunner
from flask_migrate import upgrade
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import select
from werkzeug.test import TestResponse

from app import create_app
from app.core import clock
from app.core.direct_statements import release_held_connection
from app.core.mail.mail import install_mailer
from app.database import db
from tests import signing
from tests.databases import POSTGRES_SKIP_REASON
from tests.databases import new_database
from tests.databases import postgres_base_url
from tests.factories import PASSWORD
from tests.mailbox import Mailbox
from tests.signing import signing_config

SEED_TABLES = ("roles", "permissions", "role_permissions")


def pytest_report_header() -> list[str]:
    tokens = signing.describe()
    base = postgres_base_url()
    if base is None:
        return ["databases: sqlite only. " + POSTGRES_SKIP_REASON, tokens]
    return ["databases: sqlite and postgresql (TEST_DATABASE_URL is set)", tokens]


REDIS_ENV = "TEST_REDIS_URL"
REDIS_DEFAULT = "redis://127.0.0.1:6379/0"


@pytest.fixture(scope="session")
def redis_url() -> str:
    """The Redis that shared rate limits use; the run fails plainly when it is down."""
    url = os.environ.get(REDIS_ENV, REDIS_DEFAULT)
    client = redis.Redis.from_url(url, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError:
        pytest.fail(
            f"Redis is not answering at {url} ({REDIS_ENV}); the shared rate-limit tests need "
            "it. Start it with: redis-server --daemonize yes --bind 127.0.0.1 --port 6379",
            pytrace=False,
        )
    finally:
        client.close()
    return url


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Without TEST_DATABASE_URL, leave out the PostgreSQL half of the suite, and say so. A
    test marked ``one_database`` runs on one: PostgreSQL when the run has it, else SQLite."""
    left_out = [item for item in items if _left_out(item)]
    if left_out:
        items[:] = [item for item in items if not _left_out(item)]
        config.hook.pytest_deselected(items=left_out)


def _left_out(item: pytest.Item) -> bool:
    database = _database_of(item)
    if postgres_base_url() is None:
        return database == "postgresql"
    return database == "sqlite" and item.get_closest_marker("one_database") is not None


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if postgres_base_url() is None:
        terminalreporter.write_line(POSTGRES_SKIP_REASON, yellow=True, bold=True)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    """Each test signs with its database's algorithm (tests/signing.py), chosen before any of
    its fixtures, module-wide ones included, builds an app or starts a server."""
    signing.use_algorithm_of(_database_of(item))


def _database_of(item: pytest.Item) -> str | None:
    callspec = getattr(item, "callspec", None)
    return None if callspec is None else callspec.params.get("database_kind")


@pytest.fixture(scope="session", params=["sqlite", "postgresql"])
def database_kind(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(scope="session")
def database_url(database_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with new_database(database_kind, tmp_path_factory.mktemp("db")) as url:
        yield url


@pytest.fixture(scope="session")
def seed_rows(database_url: str) -> dict[str, list[dict[str, Any]]]:
    """Migrate the database once and remember the rows the migration seeded."""
    app = make_app(database_url)
    with app.app_context():
        upgrade()
        tables = db.metadata.tables
        rows = {
            name: [dict(row._mapping) for row in db.session.execute(select(tables[name]))]
            for name in SEED_TABLES
        }
        db.session.remove()
        dispose_engines()
    return rows


def make_app(database_url: str, **overrides: Any) -> Flask:
    config = {"SQLALCHEMY_DATABASE_URI": database_url, **signing_config()}
    return create_app("testing", config | overrides)


@pytest.fixture
def app_overrides() -> dict[str, Any]:
    """Override in a test module to change the app's configuration."""
    return {}


@pytest.fixture
def app(
    database_url: str, seed_rows: dict[str, list[dict[str, Any]]], app_overrides: dict[str, Any]
) -> Iterator[Flask]:
    app = make_app(database_url, **app_overrides)
    with app.app_context():
        reset_tables(seed_rows)
    yield app
    with app.app_context():
        db.session.remove()
        dispose_engines()


@contextmanager
def own_sqlite_app(path: Path, **overrides: Any) -> Iterator[Flask]:
    """An app on an SQLite file of its own, migrated, inside its app context, whatever
    database the suite runs on: for what only SQLite does (write turns across processes)."""
    app = make_app(f"sqlite:///{path}", **overrides)
    with app.app_context():
        upgrade()
        yield app
        db.session.remove()
        dispose_engines()


def dispose_engines() -> None:
    """Close every pooled connection of the app (its main engine and the autocommit one)."""
    release_held_connection()
    for engine in db.engines.values():
        engine.dispose()


def reset_tables(seed_rows: dict[str, list[dict[str, Any]]]) -> None:
    tables = db.metadata.sorted_tables
    for table in reversed(tables):
        db.session.execute(delete(table))
    for table in tables:
        if seed_rows.get(table.name):
            db.session.execute(insert(table), seed_rows[table.name])
    db.session.commit()


@pytest.fixture
def app_context(app: Flask) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.remove()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def frozen_clock(monkeypatch):
    """The service's clock (which mints and checks tokens), moved by the test by hand."""

    class FrozenClock:
        now = clock.utcnow()

        def advance(self, seconds: float) -> None:
            self.now += timedelta(seconds=seconds)

    frozen = FrozenClock()
    monkeypatch.setattr(clock, "utcnow", lambda: frozen.now)
    return frozen


class AuthActions:
    """The blog API's auth calls, as a browser client makes them."""

    def __init__(self, client: FlaskClient):
        self._client = client

    def register(self, email: str, password: str = PASSWORD, **extra: Any) -> TestResponse:
        return self._client.post(
            "/api/v1/auth/register", json={"email": email, "password": password, **extra}
        )

    def login(self, email: str, password: str = PASSWORD) -> TestResponse:
        return self._client.post("/api/v1/auth/login", json={"email": email, "password": password})

    def refresh(self, **kwargs: Any) -> TestResponse:
        return self._client.post("/api/v1/auth/refresh-token", **kwargs)

    def logout(self, access_token: str, **kwargs: Any) -> TestResponse:
        return self._client.post(
            "/api/v1/auth/logout", headers=self.headers(access_token), **kwargs
        )

    def refresh_cookie(self) -> str | None:
        cookie = self._client.get_cookie("refreshToken", path="/api/v1/auth")
        return None if cookie is None else cookie.value

    @staticmethod
    def headers(access_token: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {access_token}"}


@pytest.fixture
def auth(client: FlaskClient) -> AuthActions:
    return AuthActions(client)


@pytest.fixture
def mailbox(app: Flask) -> Iterator[Mailbox]:
    """A real SMTP server on loopback, and the app sending its mail there."""
    box = Mailbox().start()
    app.config["MAIL_URL"] = box.url
    install_mailer(app)
    yield box
    box.stop()
