"""Readiness: can this process serve requests right now?"""

from functools import cache
from pathlib import Path

import redis
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import current_app
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import SQLAlchemyError

from app.core.metrics import REDIS_ERRORS
from app.database import db

OK = "ok"
# Redis holds budgets every host shares, not this host's ability to serve: while it is down
# the budgets are kept per process, so it never makes a host unready.
DEGRADED = "degraded"


def readiness(*, migrations_dir: Path) -> dict[str, str]:
    """Each dependency's state: "ok", "degraded" or a short reason. Never raises."""
    checks = {"database": OK, "migrations": OK}
    try:
        current = _current_revision()
    except SQLAlchemyError:
        checks["database"] = checks["migrations"] = "unavailable"
    else:
        if current != _head_revision(str(migrations_dir)):
            checks["migrations"] = "not at head"
    redis_state = _redis_state()
    if redis_state is not None:
        checks["redis"] = redis_state
    return checks


def _current_revision() -> str | None:
    """The database's migration revision. A pooled connection that an outage left dead is
    renewed by the pool when it fails (connections are pinged only after idling), so one
    failure of that kind is retried on a fresh connection before the database counts as down."""
    try:
        return _read_revision()
    except DBAPIError as error:
        if not error.connection_invalidated:
            raise
        return _read_revision()


def _read_revision() -> str | None:
    with db.engine.connect() as connection:
        connection.execute(text("SELECT 1"))
        return MigrationContext.configure(connection).get_current_revision()


def _redis_state() -> str | None:
    uri = current_app.config["RATELIMIT_STORAGE_URI"]
    if not uri.startswith(("redis://", "rediss://")):
        return None
    client = redis.Redis.from_url(uri, socket_connect_timeout=2, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError:
        REDIS_ERRORS.labels("readiness").inc()
        return DEGRADED
    finally:
        client.close()
    return OK


def is_ready(checks: dict[str, str]) -> bool:
    """Ready while every dependency of this host is "ok"; a degraded Redis leaves it ready."""
    return all(
        state in (OK, DEGRADED) if name == "redis" else state == OK
        for name, state in checks.items()
    )


@cache
def _head_revision(migrations_dir: str) -> str | None:
    config = Config()
    config.set_main_option("script_location", migrations_dir)
    return ScriptDirectory.from_config(config).get_current_head()
