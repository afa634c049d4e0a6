"""The database: the Flask-SQLAlchemy handle, and how its connections are tuned and kept.

Only the core reaches it (models, services, direct statements); the faces go through the
services, which import-linter holds (pyproject.toml)."""

import sqlite3
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from typing import Any
from typing import cast
from weakref import WeakKeyDictionary

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import CursorResult
from sqlalchemy import Engine
from sqlalchemy import Executable
from sqlalchemy import Select
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy.engine import ExceptionContext
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.pool import Pool
from sqlalchemy.pool import PoolProxiedConnection

from app.core.metrics import DATABASE_ERRORS


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
# The Alembic scripts that build and change the schema (``flask db upgrade``).
MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def rows_changed(statement: Executable) -> int:
    """Run an UPDATE or DELETE in the request's session; how many rows it changed."""
    return cast(CursorResult[Any], db.session.execute(statement)).rowcount


def one_page(query: Select[Any], *, page: int, per_page: int) -> tuple[Sequence[Any], int]:
    """Rows ``page`` (from 1) of ``query`` in its order, ``per_page`` of them, and how many
    rows the whole query has."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    rows = db.session.scalars(query.offset((page - 1) * per_page).limit(per_page)).all()
    return rows, int(total or 0)


if TYPE_CHECKING:
    Model = Base  # what db.Model extends, for type checkers that cannot see it built
else:
    Model = db.Model


@event.listens_for(Engine, "connect")
def _tune_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """SQLite: enforce foreign keys, let readers run beside a writer (WAL), make a writer
    wait for the lock instead of failing at once under concurrent workers, and sync the WAL
    at checkpoints rather than at every commit (the WAL default: a power cut may lose the
    last commits but never corrupts the file; PostgreSQL is the production database)."""
    if not isinstance(dbapi_connection, sqlite3.Connection):
        return
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


@event.listens_for(Engine, "handle_error")
def _count_error(context: ExceptionContext) -> None:
    """Every error a driver raises is counted (app/core/direct_statements.py counts its own)."""
    DATABASE_ERRORS.labels(type(context.original_exception).__name__).inc()


# Listeners on SQLAlchemy's own classes, which outlive a reload of this module
# (app/reloading.py removes them first).
CLASS_LISTENERS = ((Engine, "connect", _tune_sqlite), (Engine, "handle_error", _count_error))


# Set on a pooled connection's record by a holder that kept it checked out while unused
# (app/core/direct_statements.py): when it was last used, so its idle time counts from then.
LAST_USED = "last_used"
_PING_AFTER: "WeakKeyDictionary[Pool, float]" = WeakKeyDictionary()


def idle_ping_seconds(engine: Engine) -> float | None:
    """How long a connection of ``engine``'s pool may sit idle before it is pinged; None if
    its connections are never pinged."""
    return _PING_AFTER.get(engine.pool)


def ping_idle_connections(engine: Engine, *, after_seconds: float) -> None:
    """Pessimistic disconnect handling without a round trip per request: a pooled connection
    that sat idle for ``after_seconds`` (a database restart may have dropped it) is pinged
    before use; a busy one is not (0 pings every checkout, like ``pool_pre_ping``). A failed
    ping makes the pool replace the connection (SQLAlchemy retries a checkout that raises
    DisconnectionError); a connection that dies while busy fails its request with a 503, and
    SQLAlchemy renews the pool."""

    _PING_AFTER[engine.pool] = after_seconds

    @event.listens_for(engine.pool, "checkin")
    def note_idle_since(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = record.info.pop(LAST_USED, None) or time.monotonic()

    @event.listens_for(engine.pool, "checkout")
    def ping_if_idle(
        dbapi_connection: Any, record: ConnectionPoolEntry, _proxy: PoolProxiedConnection
    ) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < after_seconds:
            return
        try:
            cursor = dbapi_connection.cursor()
            cursor.execute("SELECT 1")
            cursor.close()
        except Exception as error:
            raise DisconnectionError("an idle pooled connection no longer answers") from error
