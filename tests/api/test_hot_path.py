"""What an authenticated request costs, proved by counting, never by timing.

Every API call of every frontend passes through the token check, so it must make one
database statement (session, user, roles and permissions together), read no configuration
of the service, compile no query and build no schema; and every statement that login,
refresh and the check make must be planned with an index, on SQLite and PostgreSQL.

Statements are counted through public hooks only: SQLAlchemy's ``before_cursor_execute``
event for the statements it runs, and the service's own observers for those it runs
straight on the driver's cursor (app/core/direct_statements.py), which that event never
sees. Compilations are counted by SQLAlchemy's documented engine log ("[generated in ...]"
for a statement compiled now, "[cached since ...]" for one found compiled) and by the
service's observer of its own compilations.
"""

import logging
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
from flask.testing import FlaskClient
from sqlalchemy import Engine
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from werkzeug.exceptions import HTTPException
from werkzeug.test import EnvironBuilder
from werkzeug.test import TestResponse

import config
from app.core import direct_statements
from app.core.audit.writer import audit_writer
from app.core.models import AuthEvent
from app.core.models import User
from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_admin
from tests.factories import make_user

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


@contextmanager
def counted_statements() -> Iterator[StatementLog]:
    """Every statement this thread sends to the database, through SQLAlchemy or straight on
    the driver's cursor (the audit writer's batches, on a thread of their own, are not part
    of a request)."""
    log = StatementLog()
    this_thread = threading.get_ident()

    def note(sql: str, parameters: Any) -> None:
        if threading.get_ident() == this_thread:
            log.statements.append(Statement(sql, parameters))

    def note_sqlalchemy(_conn, _cursor, sql, parameters, _context, _executemany) -> None:
        note(sql, parameters)

    event.listen(Engine, "before_cursor_execute", note_sqlalchemy)
    direct_statements.STATEMENT_OBSERVERS.append(note)
    try:
        yield log
    finally:
        direct_statements.STATEMENT_OBSERVERS.remove(note)
        event.remove(Engine, "before_cursor_execute", note_sqlalchemy)


class _CompilationsLogged(logging.Handler):
    """SQLAlchemy's engine log of each execution: "[generated in 0.00012s]" when the statement
    was compiled for it, "[cached since ...]" when it was found compiled."""

    def __init__(self, thread: int, compiled: list[str]) -> None:
        super().__init__(logging.INFO)
        self.thread, self.compiled = thread, compiled

    def emit(self, record: logging.LogRecord) -> None:
        message = record.getMessage()
        if record.thread != self.thread or not message.startswith("["):
            return  # the SQL itself, BEGIN, COMMIT: logged apart from the cache's verdict
        verdict = message[1:].split("]")[0]
        if not verdict.startswith(("cached since", "raw sql")):
            self.compiled.append(verdict)


@contextmanager
def counted_compilations() -> Iterator[list[str]]:
    """Every SQL compilation on this thread: SQLAlchemy's, and the direct statements' (a
    statement found in a compiled cache, or compiled at startup, makes none)."""
    compiled: list[str] = []
    this_thread = threading.get_ident()

    def note(name: str) -> None:
        if threading.get_ident() == this_thread:
            compiled.append(name)

    engine_log = logging.getLogger("sqlalchemy.engine.Engine")
    level, propagate = engine_log.level, engine_log.propagate
    handler = _CompilationsLogged(this_thread, compiled)
    engine_log.addHandler(handler)
    engine_log.setLevel(logging.INFO)
    engine_log.propagate = False
    direct_statements.COMPILATION_OBSERVERS.append(note)
    try:
        yield compiled
    finally:
        direct_statements.COMPILATION_OBSERVERS.remove(note)
        engine_log.removeHandler(handler)
        engine_log.setLevel(level)
        engine_log.propagate = propagate


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
    rotation = log.statements[0].sql
    if db.engine.dialect.name == "postgresql":  # the audit row goes in with the rotation
        assert rotation.startswith("WITH rotated AS \n(UPDATE sessions SET")
        assert "INSERT INTO auth_events" in rotation
    else:  # the audit writer stores the row a moment later
        assert rotation.startswith("UPDATE sessions SET")
    assert "RETURNING" in rotation
    assert compiled == []
    assert audit_writer(app).flush()
    assert db.session.scalar(select(func.count()).where(AuthEvent.event == "refresh")) == 1


@pytest.mark.parametrize("app_overrides", [{"AUTH_AUDIT_BATCHED": True}])
def test_a_refreshs_audit_row_is_the_one_record_would_store(
    app, app_context, client, auth, app_overrides
):
    user = make_user()
    auth.login(user.email)
    assert audit_writer(app).flush()
    login = db.session.scalars(select(AuthEvent).where(AuthEvent.event == "login")).one()

    assert auth.refresh(headers={"User-Agent": "refresh-probe/1"}).status_code == 200
    stored_at_once = db.session.scalars(select(AuthEvent).where(AuthEvent.event == "refresh"))
    stored_at_once = stored_at_once.all()
    assert audit_writer(app).flush()
    db.session.expire_all()
    (refresh,) = db.session.scalars(select(AuthEvent).where(AuthEvent.event == "refresh")).all()

    # PostgreSQL stores it in the rotation's own statement; SQLite's comes from the writer.
    assert len(stored_at_once) == (1 if db.engine.dialect.name == "postgresql" else 0)
    assert (refresh.outcome, refresh.user_id, refresh.session_id) == (
        "success",
        user.id,
        login.session_id,
    )
    assert (refresh.dialect, refresh.ip, refresh.user_agent) == (
        login.dialect,
        login.ip,
        "refresh-probe/1",
    )
    assert (refresh.target_user_id, refresh.client_id, refresh.details) == (None, None, None)
    assert refresh.occurred_at >= login.occurred_at


def _blog_refresh(client: FlaskClient, user: User) -> TestResponse:
    client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    return client.post("/api/v1/auth/refresh-token")


def _cmg_refresh(client: FlaskClient, user: User) -> TestResponse:
    client.post("/auth/login", json={"username": user.username, "password": PASSWORD})
    return client.post("/auth/refresh")


def _token_pair_refresh(client: FlaskClient, user: User) -> TestResponse:
    credentials = {"username": user.username, "password": PASSWORD}
    pair = client.post("/api/token/", json=credentials).get_json()
    return client.post("/api/token/refresh/", json={"refresh": pair["refresh"]})


# Every face with a refresh, by the dialect its audit rows name.
_REFRESHES = {"blog": _blog_refresh, "cmg": _cmg_refresh, "token_pair": _token_pair_refresh}


@pytest.mark.parametrize("face", _REFRESHES)
def test_a_refresh_at_each_face_stores_one_success_row_naming_that_face(
    app, app_context, client, face
):
    user = make_user()

    answer = _REFRESHES[face](client, user)

    assert answer.status_code == 200, answer.get_json()
    writer = audit_writer(app)
    assert writer is None or writer.flush()
    db.session.expire_all()
    rows = db.session.scalars(select(AuthEvent).where(AuthEvent.event == "refresh")).all()
    assert [(row.outcome, row.dialect, row.user_id) for row in rows] == [("success", face, user.id)]


@pytest.mark.parametrize("app_overrides", [{"AUTH_AUDIT_BATCHED": True}])
def test_events_without_details_store_sql_null_whoever_stores_them(
    app, app_context, auth, app_overrides
):
    user = make_user()
    auth.login(user.email)  # stored by the audit writer
    assert auth.refresh().status_code == 200  # stored by the rotation itself on PostgreSQL
    assert audit_writer(app).flush()

    stored = db.session.execute(text("SELECT event, details IS NULL FROM auth_events")).all()

    assert sorted(stored) == [("login", True), ("refresh", True)]


def test_a_refresh_with_an_overlong_user_agent_rotates_and_keeps_its_first_512_characters(
    app_context, auth
):
    user = make_user()
    auth.login(user.email)

    answer = auth.refresh(headers={"User-Agent": "a" * 4000})

    assert answer.status_code == 200
    refresh = db.session.scalars(select(AuthEvent).where(AuthEvent.event == "refresh")).one()
    assert refresh.user_agent == "a" * 512


@pytest.mark.parametrize("path", CALLER_ENDPOINTS)
def test_an_authenticated_request_compiles_no_query(client, admin_token, path):
    with counted_compilations() as compiled, counted_statements() as log:
        _get(client, path, admin_token)

    assert len(log.statements) == 1
    assert compiled == []


def test_the_compilation_counter_sees_a_statement_compiled(app_context):
    with counted_compilations() as compiled, db.engine.connect() as connection:
        connection.execute(select(func.count()).where(AuthEvent.event == "never-cached-"))
        connection.execute(select(func.count()).where(AuthEvent.event == "never-cached-"))

    assert len(compiled) == 1
    assert compiled[0].startswith("generated in")


def test_the_compilation_counter_sees_a_direct_statement_compiled(app_context):
    statement = direct_statements.DirectStatement(select(func.count(AuthEvent.id)))

    with counted_compilations() as compiled:
        statement.prepare(db.engine.dialect)
        statement.prepare(db.engine.dialect)

    assert compiled == ["Select"]


def test_the_statement_counter_sees_a_direct_statement_and_a_sqlalchemy_one(app_context):
    statement = direct_statements.DirectStatement(select(func.count(AuthEvent.id)))
    statement.prepare(db.engine.dialect)

    with counted_statements() as log:
        statement.rows(db.engine, {})
        db.session.scalar(select(func.count(AuthEvent.id)))

    assert len(log.sql) == 2
    assert all(sql.startswith("SELECT count(auth_events.id)") for sql in log.sql)


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
            # "SCAN CONSTANT ROW" is the one row of a SELECT without FROM, not a table.
            return [row[-1] for row in plan
                    if row[-1].startswith("SCAN ") and row[-1] != "SCAN CONSTANT ROW"]  # fmt: skip
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
def test_a_login_reads_the_user_and_roles_once_and_writes_the_session_and_its_time_once(
    app, app_context, client, auth, app_overrides
):
    email = make_admin().email
    db.session.remove()

    with counted_statements() as log:
        assert auth.login(email).status_code == 200

    # The account (its budget is keyed by the row read), whether it has a second factor, the
    # session, the account's last sign-in (the admin console's list shows it), the roles for
    # the tokens, and the webhook endpoints that want user.signed_in
    # (app/core/hooks/events.py; none here, so nothing more).
    assert [sql.split()[0] for sql in log.sql] == [
        "SELECT", "SELECT", "INSERT", "UPDATE", "SELECT", "SELECT"
    ]  # fmt: skip
    assert audit_writer(app).flush()
    assert db.session.scalar(select(func.count()).where(AuthEvent.event == "login")) == 1


@pytest.mark.parametrize("path", CALLER_ENDPOINTS)
def test_a_warm_request_asks_flask_for_no_sync_wrapper(client, admin_token, monkeypatch, path):
    """Flask's ensure_sync inspects each hook and view for a coroutine; the app asks it once
    per function, not on every request."""
    _get(client, path, admin_token)
    asked: list[object] = []
    original = Flask.ensure_sync

    def counting(self: Flask, func: Any) -> Any:
        asked.append(func)
        return original(self, func)

    monkeypatch.setattr(Flask, "ensure_sync", counting)

    _get(client, path, admin_token)

    assert asked == []


@pytest.mark.parametrize("path", ["/healthz", *CALLER_ENDPOINTS])
def test_a_successful_request_raises_no_exception_on_its_way(app, admin_token, monkeypatch, path):
    """A missing header looked up in werkzeug's Headers costs an HTTP exception; the
    service's own lookups and headers need none. Called through WSGI directly: the test
    client's own lookups raise some."""
    environ = EnvironBuilder(
        path=path, headers={"Authorization": f"Bearer {admin_token}"}
    ).get_environ()
    statuses: list[str] = []
    raised: list[type] = []
    original = HTTPException.__init__

    def counting(self: HTTPException, *args: Any, **kwargs: Any) -> None:
        raised.append(type(self))
        original(self, *args, **kwargs)

    def call() -> None:
        body = app(dict(environ), lambda status, _headers: statuses.append(status))
        b"".join(body)
        body.close()  # type: ignore[attr-defined]

    call()
    monkeypatch.setattr(HTTPException, "__init__", counting)
    call()

    assert statuses == ["200 OK", "200 OK"]
    assert raised == []
