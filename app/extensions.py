"""Unbound extensions, bound to an app in create_app with init_app."""

import sqlite3
import time
from typing import Any

from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Engine
from sqlalchemy import event
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.pool import ConnectionPoolEntry
from sqlalchemy.pool import PoolProxiedConnection


class Base(DeclarativeBase):
    pass


class DecoratorLimiter(Limiter):
    """Flask-Limiter, which holds the rate-limit storage that the service's budgets draw
    from (app/core/attempts.py) and checks any limit a team declares with its decorators when
    the view is called. The extension's other pass, before every request, looks for default,
    application and blueprint limits, of which the service declares none
    (tests/security/test_refresh_limits.py holds that): it is skipped, for it cost about
    100 us on every request, /healthz included (docs/benchmarks.md)."""

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        if not in_middleware:
            super()._check_request_limit(callable_name=callable_name, in_middleware=False)


class ServiceJWTManager(JWTManager):
    """flask-jwt-extended reading tokens with the service's own verifier, so that
    ``@jwt_required()`` accepts exactly the tokens the service's views accept
    (app/api/jwt_callbacks.py; tests/api/test_one_boundary.py holds the private method's
    shape). Its failures are the service's domain errors, rendered per dialect."""

    def _decode_jwt_from_config(
        self, encoded_token: str, csrf_value: str | None = None, allow_expired: bool = False
    ) -> dict[str, Any]:
        from app.core.token_rules import token_verifier  # imports this module

        return token_verifier().decode(encoded_token, allow_expired=allow_expired)


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = ServiceJWTManager()
# Client IPs are the socket peer, or the hop that TRUSTED_PROXIES allows ProxyFix to read.
limiter = DecoratorLimiter(key_func=get_remote_address)


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


def ping_idle_connections(engine: Engine, *, after_seconds: float) -> None:
    """Pessimistic disconnect handling without a round trip per request: a pooled connection
    that sat idle for ``after_seconds`` (a database restart may have dropped it) is pinged
    before use; a busy one is not (0 pings every checkout, like ``pool_pre_ping``). A failed
    ping makes the pool replace the connection (SQLAlchemy retries a checkout that raises
    DisconnectionError); a connection that dies while busy fails its request with a 503, and
    SQLAlchemy renews the pool."""

    @event.listens_for(engine.pool, "checkin")
    def note_idle_since(_dbapi_connection: Any, record: ConnectionPoolEntry) -> None:
        record.info["idle_since"] = time.monotonic()

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
