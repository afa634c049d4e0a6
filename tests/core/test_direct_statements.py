"""A statement run on the driver's cursor answers exactly what SQLAlchemy would, and fails
the way SQLAlchemy would: with its own exceptions, and a dropped connection invalidated."""

import gc
import subprocess
import sys
import threading
import time
from dataclasses import fields
from datetime import UTC
from datetime import datetime

import pytest
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import Table
from sqlalchemy import bindparam
from sqlalchemy import create_engine
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from app.core import direct_statements
from app.core.direct_statements import DirectStatement
from app.core.direct_statements import own_transaction_engine
from app.core.models import SignInSession
from app.core.models import User
from app.core.models import UTCDateTime
from app.core.sessions.callers import CALLER_READ
from app.core.sessions.callers import CallingUser
from app.core.sessions.sessions import open_session
from app.core.tokens.tokens import policy_for
from app.core.tokens.verifier import token_verifier
from app.database import db
from tests.conftest import AuthActions
from tests.conftest import own_sqlite_app
from tests.factories import make_admin
from tests.factories import make_user

MISSING = Table("no_such_table", MetaData(), Column("id", Integer))


@pytest.fixture
def caller_parameters(app_context):
    admin = make_admin()
    admin.social_links = {"github": "https://github.com/ada"}
    db.session.commit()
    issued = open_session(user=admin, dialect="blog", policy=policy_for("BLOG"))
    claims = token_verifier().decode(issued.access_token)
    return {"user_id": admin.id, "session_id": claims["sid"], "jti": claims["jti"]}


def test_the_caller_read_returns_the_rows_sqlalchemy_returns(caller_parameters):
    engine = own_transaction_engine()
    with engine.connect() as connection:
        expected = [
            tuple(row) for row in connection.execute(CALLER_READ.statement, caller_parameters)
        ]

    rows = CALLER_READ.rows(engine, caller_parameters)

    assert rows == expected
    assert len(rows) == 3  # the user role; the admin role with each of its two permissions
    column = {field.name: index for index, field in enumerate(fields(CallingUser))}
    created_at = rows[0][column["created_at"]]
    assert created_at.utcoffset().total_seconds() == 0
    assert rows[0][column["social_links"]] == {"github": "https://github.com/ada"}
    assert rows[0][column["is_active"]] is True


def test_a_driver_error_comes_out_as_sqlalchemys_own_and_the_pool_still_serves(app_context):
    read = DirectStatement(select(MISSING.c.id))

    with pytest.raises(DBAPIError) as raised:
        read.rows(db.engine, {})

    assert not raised.value.connection_invalidated
    assert DirectStatement(select(1)).rows(db.engine, {}) == [(1,)]


def test_a_dropped_connection_is_invalidated_so_the_pool_replaces_it(caller_parameters):
    engine = own_transaction_engine()
    connection = engine.raw_connection()
    connection.dbapi_connection.close()  # as when the database goes away
    try:
        with pytest.raises(DBAPIError) as raised:
            CALLER_READ.rows_on(connection, engine.dialect, caller_parameters)
        assert raised.value.connection_invalidated
        assert not connection.is_valid
    finally:
        connection.close()

    assert len(CALLER_READ.rows(engine, caller_parameters)) == 3


def test_a_database_that_cannot_be_reached_is_sqlalchemys_own_error(app, app_context):
    unreachable = create_engine(_unreachable_url(db.engine.url))

    with pytest.raises(DBAPIError):
        DirectStatement(select(1)).rows(unreachable, {})
    unreachable.dispose()


def _unreachable_url(url: URL) -> URL:
    if url.get_backend_name() == "sqlite":
        return url.set(database="/nonexistent-directory/auth.db")
    return url.set(port=1)


def test_a_committed_change_converts_its_parameters_and_returns_its_rows(caller_parameters):
    moment = datetime(2031, 5, 4, 3, 2, 1, tzinfo=UTC)
    touch = DirectStatement(
        update(SignInSession)
        .where(SignInSession.id == bindparam("sid"))
        .values(last_used_at=bindparam("moment", type_=UTCDateTime()))
        .returning(SignInSession.id, SignInSession.last_used_at)
    )
    session_id = caller_parameters["session_id"]

    engine = own_transaction_engine()
    matched = touch.rows_committed(engine, {"sid": session_id, "moment": moment})
    missed = touch.rows_committed(engine, {"sid": "no-such-session", "moment": moment})

    assert (matched, missed) == ([(session_id, moment)], [])
    db.session.rollback()  # the committed change is read from a new transaction
    stored = db.session.get(SignInSession, session_id)
    db.session.refresh(stored)
    assert stored.last_used_at == moment


def test_a_driver_error_in_a_session_leaves_it_able_to_roll_back(app_context):
    with pytest.raises(DBAPIError):
        DirectStatement(select(MISSING.c.id)).rows_in(db.session, {})
    db.session.rollback()

    assert db.session.scalar(select(1)) == 1


def test_a_statement_with_an_in_list_is_refused_when_it_is_compiled(app_context):
    """Its placeholders are written per execution by the machinery a direct statement skips:
    "__[POSTCOMPILE_ids]" would reach the driver and fail only when run. Direct statements
    are compiled at startup, so the service would not start."""
    statement = DirectStatement(
        select(User.id).where(User.id.in_(bindparam("ids", expanding=True)))
    )

    with pytest.raises(ValueError, match=r"expanding \(IN list\) parameter: \['ids'\]"):
        statement.prepare(db.engine.dialect)
    del statement  # every app compiles the live direct statements at startup


ONE = DirectStatement(select(1))


def _run_in_a_thread(engine, *, then=None):
    """Run ONE on ``engine`` in a new thread that ends afterwards (after ``then``, if any)."""
    errors: list[BaseException] = []

    def work() -> None:
        try:
            assert ONE.rows(engine, {}) == [(1,)]
            if then is not None:
                then()
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=work)
    thread.start()
    return thread, errors


def test_a_threads_statements_share_one_connection_and_it_returns_when_the_thread_ends(
    app_context,
):
    engine = own_transaction_engine()
    seen: list[object] = []

    def twice() -> None:
        first = direct_statements._THREAD.held.connection.dbapi_connection
        assert ONE.rows(engine, {}) == [(1,)]
        seen.extend([first, direct_statements._THREAD.held.connection.dbapi_connection])

    checked_out_before = engine.pool.checkedout()
    thread, errors = _run_in_a_thread(engine, then=twice)
    thread.join()
    gc.collect()

    assert errors == []
    assert seen[0] is seen[1]
    assert engine.pool.checkedout() == checked_out_before


def test_a_pool_never_lends_its_last_connection_to_holders(app_context):
    engine = own_transaction_engine()
    release = threading.Event()
    threads = [_run_in_a_thread(engine, then=release.wait) for _ in range(engine.pool.size() + 2)]
    try:
        deadline = time.monotonic() + 10
        while engine.pool.checkedout() < engine.pool.size() - 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # every thread has run its statement by now

        held = engine.pool.checkedout()
        assert held == engine.pool.size() - 1
        assert ONE.rows(engine, {}) == [(1,)]  # a thread holding none is served at once
    finally:
        release.set()
        for thread, errors in threads:
            thread.join()
            assert errors == []


def test_a_held_connection_dropped_while_idle_is_pinged_and_replaced_before_use(app, app_context):
    engine = own_transaction_engine()
    assert ONE.rows(engine, {}) == [(1,)]
    held = direct_statements._THREAD.held
    held.connection.dbapi_connection.close()  # the database went away while it sat idle
    held.last_used -= app.config["DATABASE_PING_AFTER_IDLE_SECONDS"]

    assert ONE.rows(engine, {}) == [(1,)]
    assert direct_statements._THREAD.held is not held


def test_a_held_connection_a_statement_failed_on_is_let_go(app_context):
    engine = own_transaction_engine()
    assert ONE.rows(engine, {}) == [(1,)]
    held = direct_statements._THREAD.held

    with pytest.raises(DBAPIError):
        DirectStatement(select(MISSING.c.id)).rows(engine, {})

    assert held.released
    assert ONE.rows(engine, {}) == [(1,)]


# Holds the turn file named by argv[1] until its stdin closes, as another worker would.
_TURN_HOLDER = """
import fcntl, os, sys
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
fcntl.flock(descriptor, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""
# Says whether the turn file named by argv[1] is free, without waiting for it.
_TURN_PROBE = """
import fcntl, os, sys
descriptor = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT, 0o600)
try:
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
except BlockingIOError:
    print("taken")
else:
    print("free")
"""


def _turn_file_state(database: str) -> str:
    probe = [sys.executable, "-c", _TURN_PROBE, f"{database}-turns"]
    return subprocess.run(probe, capture_output=True, text=True, check=True).stdout.strip()


def test_a_sqlite_write_turn_keeps_other_processes_waiting_until_it_ends(tmp_path):
    database = str(tmp_path / "turns.db")

    with direct_statements.sqlite_write_turn(database):
        during = _turn_file_state(database)

    assert (during, _turn_file_state(database)) == ("taken", "free")


def test_a_forked_child_opens_a_turn_file_of_its_own(tmp_path):
    database = str(tmp_path / "turns.db")
    with direct_statements.sqlite_write_turn(database):
        pass
    inherited = dict(direct_statements._TURN_FILES)

    direct_statements._open_own_turn_files()  # what os.register_at_fork runs in a child

    assert database in inherited
    assert direct_statements._TURN_FILES == {}


@pytest.fixture
def sqlite_app(tmp_path):
    """An SQLite database of this test's own, whatever database the suite runs on: write
    turns are SQLite's (PostgreSQL locks the row)."""
    with own_sqlite_app(tmp_path / "turns.db") as app:
        yield app


def test_a_refresh_on_sqlite_waits_for_another_processs_write_turn(sqlite_app):
    auth = AuthActions(sqlite_app.test_client())
    user = make_user()
    assert auth.login(user.email).status_code == 200
    turn_file = f"{db.engine.url.database}-turns"
    holding = [sys.executable, "-c", _TURN_HOLDER, turn_file]
    answers: list[int] = []
    with subprocess.Popen(
        holding, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    ) as holder:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
        refresh = threading.Thread(target=lambda: answers.append(auth.refresh().status_code))
        refresh.start()
        refresh.join(0.5)
        waited = refresh.is_alive()
        assert holder.stdin is not None
        holder.stdin.close()  # the other process lets its turn go
    refresh.join(10)

    assert waited
    assert answers == [200]
