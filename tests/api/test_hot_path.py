"""What an authenticated request costs, proved by counting, never by timing.

Every API call of every frontend passes through the token check, so it must make one
database statement (session, user, roles and permissions together), read no configuration
of the service, compile no query and build no schema; and every statement that login,
refresh and the check make must be planned with an index, on SQLite and PostgreSQL.

Statements are counted where every path meets the driver: the cursor a pooled connection
hands out. The caller read runs on that cursor directly (app/core/direct_statements.py), so
SQLAlchemy's own execution events would not see it.
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
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.pool.base import _ConnectionFairy
from sqlalchemy.sql.compiler import SQLCompiler

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


@dataclass
class StatementLog:
    statements: list[Statement] = field(default_factory=list)

    @property
    def sql(self) -> list[str]:
        return [statement.sql for statement in self.statements]


class RecordingCursor:
    """A driver cursor that notes each statement it is given."""

    def __init__(self, cursor: Any, log: StatementLog) -> None:
        self._cursor = cursor
        self._log = log

    def execute(self, sql: str, parameters: Any = None, *args: Any, **kwargs: Any) -> Any:
        self._log.statements.append(Statement(sql, parameters))
        if parameters is None:
            return self._cursor.execute(sql, *args, **kwargs)
        return self._cursor.execute(sql, parameters, *args, **kwargs)

    def executemany(self, sql: str, parameters: Any, *args: Any, **kwargs: Any) -> Any:
        self._log.statements.append(Statement(sql, parameters))
        return self._cursor.executemany(sql, parameters, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)


@contextmanager
def counted_statements() -> Iterator[StatementLog]:
    """Every statement this thread sends to the database through a pooled connection, by
    SQLAlchemy or straight on the driver's cursor (the audit writer's batches, on a thread
    of their own, are not part of a request)."""
    log = StatementLog()
    this_thread = threading.get_ident()
    original = _ConnectionFairy.cursor

    def cursor(self: _ConnectionFairy, *args: Any, **kwargs: Any) -> Any:
        made = original(self, *args, **kwargs)
        return RecordingCursor(made, log) if threading.get_ident() == this_thread else made

    _ConnectionFairy.cursor = cursor  # type: ignore[method-assign]
    try:
        yield log
    finally:
        _ConnectionFairy.cursor = original  # type: ignore[method-assign]


@contextmanager
def counted_compilations() -> Iterator[list[str]]:
    """Every SQL compilation on this thread (a statement found in a compiled cache, or
    compiled at startup, makes none)."""
    compiled: list[str] = []
    this_thread = threading.get_ident()
    original = SQLCompiler.__init__

    def init(self: SQLCompiler, dialect: Any, statement: Any, *args: Any, **kwargs: Any) -> None:
        if threading.get_ident() == this_thread:
            compiled.append(type(statement).__name__)
        original(self, dialect, statement, *args, **kwargs)

    SQLCompiler.__init__ = init  # type: ignore[method-assign]
    try:
        yield compiled
    finally:
        SQLCompiler.__init__ = original  # type: ignore[method-assign]


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
def test_a_refresh_is_one_statement_compiled_at_startup_and_its_audit_row_follows(
    app, app_context, client, auth, app_overrides
):
    admin = make_admin()
    auth.login(admin.email)

    with counted_compilations() as compiled, counted_statements() as log:
        assert auth.refresh().status_code == 200

    assert len(log.statements) == 1, log.sql
    assert log.statements[0].sql.startswith("UPDATE sessions SET")
    assert "RETURNING" in log.statements[0].sql
    assert compiled == []
    assert audit_writer(app).flush()
    assert db.session.scalar(select(func.count()).where(AuthEvent.event == "refresh")) == 1


@pytest.mark.parametrize("path", CALLER_ENDPOINTS)
def test_an_authenticated_request_compiles_no_query(client, admin_token, path):
    with counted_compilations() as compiled, counted_statements() as log:
        _get(client, path, admin_token)

    assert len(log.statements) == 1
    assert compiled == []


def test_the_compilation_counter_sees_a_statement_compiled(app_context):
    with counted_compilations() as compiled, db.engine.connect() as connection:
        connection.execute(select(func.count()).where(AuthEvent.event == "never-cached-"))

    assert compiled == ["Select"]


def test_the_statement_counter_sees_a_read_on_the_drivers_cursor(app_context):
    engine = db.engine
    with counted_statements() as log:
        connection = engine.raw_connection()
        try:
            cursor = connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        finally:
            connection.close()

    assert log.sql == ["SELECT 1"]


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


@pytest.mark.parametrize("app_overrides", [{"AUTH_AUDIT_BATCHED": True}])
def test_a_login_reads_the_user_and_roles_once_and_writes_the_session_once(
    app, app_context, client, auth, app_overrides
):
    email = make_admin().email
    db.session.remove()

    with counted_statements() as log:
        assert auth.login(email).status_code == 200

    # The account (its budget is keyed by the row read), the session, the roles for the tokens.
    assert [sql.split()[0] for sql in log.sql] == ["SELECT", "INSERT", "SELECT"]
    assert audit_writer(app).flush()
    assert db.session.scalar(select(func.count()).where(AuthEvent.event == "login")) == 1
