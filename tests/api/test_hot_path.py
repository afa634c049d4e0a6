"""What an authenticated request costs, proved by counting, never by timing.

Every API call of every frontend passes through the token check, so it must make one
database statement (session, user, roles and permissions together), read no configuration
of the service, compile no query and build no schema; and every statement that login,
refresh and the check make must be planned with an index, on SQLite and PostgreSQL.
"""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import marshmallow
import pytest
from flask import Config
from flask import Flask
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.engine.interfaces import CacheStats

import config
from app.core.models import AuthEvent
from app.core.services.audit_writer import audit_writer
from app.extensions import db
from tests.factories import PASSWORD
from tests.factories import make_admin

CALLER_ENDPOINTS = ["/api/v1/users/current", "/auth/me", "/api/auth/check", "/api/users/me/"]
# The service's own settings (Flask's and its extensions' own keys are theirs to read).
SERVICE_KEYS = {
    key
    for key in vars(config.Config)
    if key.isupper() and key not in Flask.default_config
    and not key.startswith(("SQLALCHEMY_", "RATELIMIT_"))
}  # fmt: skip


@dataclass
class Statement:
    sql: str
    parameters: Any
    cache: CacheStats | None


@dataclass
class StatementLog:
    statements: list[Statement] = field(default_factory=list)

    @property
    def sql(self) -> list[str]:
        return [statement.sql for statement in self.statements]


@contextmanager
def counted_statements() -> Iterator[StatementLog]:
    """Every statement this thread sends on any of the app's engines (the audit writer's
    batches, on a thread of their own, are not part of a request)."""
    log = StatementLog()
    this_thread = threading.get_ident()

    def record(_conn, _cursor, statement, parameters, context, _executemany):
        if threading.get_ident() != this_thread:
            return
        cache = getattr(context, "cache_hit", None)
        log.statements.append(Statement(statement, parameters, cache))

    engines = list(db.engines.values())
    for engine in engines:
        event.listen(engine, "after_cursor_execute", record)
    try:
        yield log
    finally:
        for engine in engines:
            event.remove(engine, "after_cursor_execute", record)


@pytest.fixture
def admin_token(app_context, client) -> str:
    admin = make_admin()
    response = client.post("/api/token/", json={"username": admin.username, "password": PASSWORD})
    return response.get_json()["access"]


def _get(client, path: str, token: str):
    response = client.get(path, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, response.get_json()
    return response


@pytest.mark.parametrize("path", CALLER_ENDPOINTS)
def test_an_authenticated_request_makes_exactly_one_database_statement(client, admin_token, path):
    with counted_statements() as log:
        _get(client, path, admin_token)

    assert len(log.statements) == 1, log.sql


def test_the_one_statement_reads_roles_and_permissions_with_the_session(client, admin_token):
    with counted_statements() as log:
        checked = _get(client, "/api/auth/check", admin_token).get_json()

    assert checked["user"]["roles"] == ["user", "admin"]
    assert checked["user"]["permissions"] == ["users:read", "users:write"]
    (statement,) = log.sql
    for table in ("sessions", "users", "user_roles", "role_permissions", "revoked_tokens"):
        assert table in statement


@pytest.mark.parametrize("app_overrides", [{"AUTH_AUDIT_BATCHED": True}])
def test_a_refresh_makes_two_statements_and_its_audit_row_follows(
    app, app_context, client, auth, app_overrides
):
    admin = make_admin()
    auth.login(admin.email)

    with counted_statements() as log:
        assert auth.refresh().status_code == 200

    assert len(log.statements) == 2, log.sql
    assert audit_writer(app).flush()
    assert db.session.scalar(select(func.count()).where(AuthEvent.event == "refresh")) == 1


def test_a_repeated_request_compiles_no_query(client, admin_token):
    _get(client, "/auth/me", admin_token)

    with counted_statements() as log:
        _get(client, "/auth/me", admin_token)

    assert [statement.cache for statement in log.statements] == [CacheStats.CACHE_HIT]


@pytest.mark.parametrize("path", CALLER_ENDPOINTS)
def test_an_authenticated_request_builds_no_schema(client, admin_token, monkeypatch, path):
    built: list[type] = []
    original = marshmallow.Schema.__init__

    def counting_init(self, *args: Any, **kwargs: Any) -> None:
        built.append(type(self))
        original(self, *args, **kwargs)

    monkeypatch.setattr(marshmallow.Schema, "__init__", counting_init)

    _get(client, path, admin_token)

    assert built == []


class ReadTrackingConfig(Config):
    read: set[str]

    def __getitem__(self, key: str) -> Any:
        self.read.add(key)
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self.read.add(key)
        return super().get(key, default)


@pytest.mark.parametrize("path", CALLER_ENDPOINTS)
def test_an_authenticated_request_reads_no_service_setting(app, client, admin_token, path):
    app.config.__class__ = ReadTrackingConfig
    app.config.read = set()
    try:
        _get(client, path, admin_token)
        read = app.config.read & SERVICE_KEYS
    finally:
        app.config.__class__ = Config

    assert read == set()


def test_every_lookup_of_login_refresh_and_the_token_check_uses_an_index(app_context, client, auth):
    admin = make_admin()
    with counted_statements() as log:
        access = auth.login(admin.email).get_json()["accessToken"]
        assert auth.refresh().status_code == 200
        for path in CALLER_ENDPOINTS:
            _get(client, path, access)
    lookups = [s for s in log.statements if not s.sql.lstrip().upper().startswith("INSERT")]
    assert lookups

    for statement in lookups:
        assert _unindexed_scans(statement) == [], statement.sql


def test_the_index_check_sees_a_lookup_without_an_index(app_context):
    with counted_statements() as log, db.engine.connect() as connection:
        connection.exec_driver_sql("SELECT id FROM sessions WHERE ip = '203.0.113.9'")

    assert _unindexed_scans(log.statements[0]) != []


def _unindexed_scans(statement: Statement) -> list[str]:
    """Plan steps that read a whole table, with the planner told to avoid them if it can."""
    with db.engine.connect() as connection:
        if connection.dialect.name == "sqlite":
            plan = connection.exec_driver_sql(
                f"EXPLAIN QUERY PLAN {statement.sql}", statement.parameters
            ).all()
            return [row[-1] for row in plan if row[-1].startswith("SCAN ")]
        transaction = connection.begin()
        try:
            connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
            (plan,) = connection.exec_driver_sql(
                f"EXPLAIN (FORMAT JSON) {statement.sql}", statement.parameters
            ).one()
        finally:
            transaction.rollback()
    return [node["Relation Name"] for node in _plan_nodes(plan[0]["Plan"])
            if node["Node Type"] == "Seq Scan"]  # fmt: skip


def _plan_nodes(node: dict[str, Any]) -> Iterator[dict[str, Any]]:
    yield node
    for child in node.get("Plans", []):
        yield from _plan_nodes(child)
