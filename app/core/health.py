"""Readiness: can this process serve requests right now?"""

import ast
from functools import cache
from pathlib import Path
from typing import Any

import redis
from flask import current_app
from sqlalchemy import inspect
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import SQLAlchemyError

from app.core.metrics import REDIS_ERRORS
from app.database import MIGRATIONS
from app.database import db

OK = "ok"
# Redis holds budgets every host shares, not this host's ability to serve: while it is down
# the budgets are kept per process, so it never makes a host unready.
DEGRADED = "degraded"


def readiness() -> dict[str, str]:
    """Each dependency's state: "ok", "degraded" or a short reason. Never raises."""
    checks = {"database": OK, "migrations": OK}
    try:
        current = _current_revision()
    except SQLAlchemyError:
        checks["database"] = checks["migrations"] = "unavailable"
    else:
        if current != _head_revision(str(MIGRATIONS)):
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
    """Alembic's record of the database's revision (none before the first migration)."""
    with db.engine.connect() as connection:
        if not inspect(connection).has_table("alembic_version"):
            return None
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


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
    """The newest migration, the one no other names as its ``down_revision``, read from the
    scripts' own assignments: a serving process never loads Alembic, which would add about
    11 MB to every worker (docs/decisions/0019-no-alembic-in-workers.md). None unless the
    scripts form one line (each naming its revision), which never matches a database's
    revision."""
    revisions: set[str] = set()
    parents: set[str | None] = set()
    for script in Path(migrations_dir, "versions").glob("*.py"):
        assigned = _revision_assignments(script.read_text(encoding="utf-8"))
        if "revision" not in assigned:
            return None
        revisions.add(assigned["revision"])
        down = assigned.get("down_revision")
        parents.update(down if isinstance(down, tuple) else [down])
    heads = revisions - parents
    return heads.pop() if len(heads) == 1 else None


def _revision_assignments(source: str) -> dict[str, Any]:
    """The ``revision`` and ``down_revision`` a migration script assigns at its top level
    (``revision = "0016"``, or annotated: ``revision: str = "0016"``)."""
    assigned: dict[str, Any] = {}
    for node in ast.parse(source).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            assigned[target.id] = ast.literal_eval(value)
    return assigned
