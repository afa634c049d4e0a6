"""Configuration settled at startup: defaults, the signing secret, and the production gate.

Every refusal is one line that names the problem and never the value.
"""

import os
import re
import secrets
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import limits
import redis
from flask import Flask
from sqlalchemy.engine import make_url

from app.core.configuration import ALLOWED_ALGORITHMS
from app.core.configuration import AUTOCOMMIT_BIND
from app.core.configuration import ConfigurationError
from app.core.configuration import write_new_file
from app.core.secret_box import new_key
from app.core.secret_box import parse_keys

__all__ = ["ConfigurationError", "settle_config"]

SECRET_FILE = "jwt-secret.key"  # noqa: S105 (a file name, not a secret)
MFA_KEY_FILE = "mfa-encryption.key"
MIN_SECRET_BYTES = 64
MEMORY_STORAGE = "memory://"
# Secrets that were published as examples, and words that mark a placeholder.
_PUBLISHED_SECRETS = {
    "93db059c6f7f88ccf831726c24c08d07f8fa51770c562cec9130fe524c49d853"
    "00876f30b15d3751fee201d967d7dc1b82355d3459fb21bf50a1351da01ab374",
}
_PLACEHOLDER_WORDS = re.compile(r"change.?me|secret|example|placeholder|default", re.IGNORECASE)
_ORIGIN = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?$")


def settle_config(app: Flask) -> None:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'auth.db'}"
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = engine_options(app.config)
    app.config["SQLALCHEMY_BINDS"] = autocommit_bind(app.config["SQLALCHEMY_DATABASE_URI"])
    _check_algorithm(app)
    _check_cors_origins(app)
    _check_rate_limits(app)
    _check_at_least_one(app)
    _check_urls(app)
    _check_rate_limit_storage(app)
    if app.config["JWT_ALGORITHM"] == "HS256":
        app.config["JWT_SECRET_KEY"] = _signing_secret(app)
    app.config["AUTH_MFA_ENCRYPTION_KEY"] = _mfa_encryption_key(app)
    if app.config["APP_ENV"] == "production":
        _check_production(app)


def engine_options(config: Mapping[str, Any]) -> dict[str, Any]:
    """SQLAlchemy engine options: timeouts, so that a database outage becomes a quick 503
    instead of a hung worker. (Idle connections are checked on checkout: app/extensions.py.)"""
    options: dict[str, Any] = {}
    url = make_url(config["SQLALCHEMY_DATABASE_URI"])
    if url.get_backend_name() == "postgresql":
        # Server options given in the URL itself (e.g. a search_path) are kept.
        server_options = " ".join(
            filter(
                None,
                [
                    _one_query_value(url.query.get("options")),
                    f"-c statement_timeout={config['DATABASE_STATEMENT_TIMEOUT_MS']}",
                ],
            )
        )
        options |= {
            "pool_size": config["DATABASE_POOL_SIZE"],
            "max_overflow": config["DATABASE_MAX_OVERFLOW"],
            "pool_recycle": config["DATABASE_POOL_RECYCLE"],
            "pool_timeout": config["DATABASE_POOL_TIMEOUT"],
            "connect_args": {
                "connect_timeout": config["DATABASE_CONNECT_TIMEOUT"],
                "options": server_options,
                # A peer that stops answering mid-query is given up on (Linux, milliseconds).
                "tcp_user_timeout": config["DATABASE_STATEMENT_TIMEOUT_MS"],
            },
        }
    return options


def autocommit_bind(database_uri: str) -> dict[str, Any]:
    """A second engine on the same database for single-statement reads, in autocommit: the
    per-request caller lookup then costs one round trip, not BEGIN + SELECT + ROLLBACK.

    SQLite needs none: its driver opens no transaction for a SELECT.
    """
    if make_url(database_uri).get_backend_name() == "sqlite":
        return {}
    return {AUTOCOMMIT_BIND: {"url": database_uri, "isolation_level": "AUTOCOMMIT"}}


def _check_rate_limit_storage(app: Flask) -> None:
    """Budgets are never silently per process in production: there the storage must be
    named. A Redis that is named but does not answer is an outage, not a configuration error:
    the service starts (and migrates) with a warning, keeps the budgets per process, and
    shares them again when Redis answers."""
    uri = app.config["RATELIMIT_STORAGE_URI"]
    if not uri and app.config["APP_ENV"] != "production":
        app.config["RATELIMIT_STORAGE_URI"] = uri = MEMORY_STORAGE
    if uri and not uri.startswith(("redis://", "rediss://", MEMORY_STORAGE)):
        raise ConfigurationError(
            "RATELIMIT_STORAGE_URI must be redis://..., rediss://... or memory://: the "
            "brute-force budgets live there"
        )
    if not uri or not uri.startswith(("redis://", "rediss://")):
        return
    client = redis.Redis.from_url(uri, socket_connect_timeout=3, socket_timeout=3)
    try:
        client.ping()
    except redis.RedisError:
        app.logger.warning(
            "WARNING: RATELIMIT_STORAGE_URI points at a Redis that does not answer: the "
            "budgets are per process until it does. Start it or fix the address."
        )
    finally:
        client.close()


# Every rate-limit setting, parsed now: a typo must stop startup, not turn logins into 500s.
RATE_LIMIT_SETTINGS = (
    "AUTH_RATELIMIT_CREDENTIALS_PER_IP",
    "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP",
    "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT",
    "AUTH_RATELIMIT_REFRESH_PER_IP",
)
# Counts and durations that mean nothing below one.
POSITIVE_SETTINGS = (
    "AUTH_REAUTH_MAX_AGE_SECONDS",
    "AUTH_MFA_MAX_FAILURES",
    "AUTH_FOREIGN_HASH_CHECKS_AT_ONCE",
)
URL_SETTINGS = ("AUTH_FRONTEND_URL", "AUTH_PUBLIC_URL")
_BASE_URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:\d{1,5})?(/[^\s?#]*)?$")


def _check_rate_limits(app: Flask) -> None:
    for name in RATE_LIMIT_SETTINGS:
        try:
            parsed = limits.parse_many(str(app.config[name]))
        except ValueError:
            parsed = []
        if len(parsed) != 1:
            raise ConfigurationError(f"{name} is not one rate limit such as '30 per minute'")


def _check_at_least_one(app: Flask) -> None:
    for name in POSITIVE_SETTINGS:
        if int(app.config[name]) < 1:
            raise ConfigurationError(f"{name} must be at least 1")


def _check_urls(app: Flask) -> None:
    for name in URL_SETTINGS:
        value = app.config[name]
        if value and not _BASE_URL.match(value):
            raise ConfigurationError(
                f"{name} must be a base URL such as https://app.example.com (no query)"
            )


def _check_algorithm(app: Flask) -> None:
    if app.config["JWT_ALGORITHM"] not in ALLOWED_ALGORITHMS:
        raise ConfigurationError(
            f"JWT_ALGORITHM is not one of the allowed algorithms ({', '.join(ALLOWED_ALGORITHMS)})"
        )


def _check_cors_origins(app: Flask) -> None:
    """Only exact origins: a wildcard with credentials would let any site use the cookie."""
    for origin in app.config["CORS_ORIGINS"]:
        if not _ORIGIN.match(origin):
            raise ConfigurationError(
                "CORS_ORIGINS must list exact origins such as https://app.example.com "
                "(no wildcards, paths or trailing slashes)"
            )


def _check_production(app: Flask) -> None:
    if app.debug or app.config.get("DEBUG"):
        raise ConfigurationError("debug mode is on; production must run with it off")
    secret_key = app.config.get("SECRET_KEY")
    if secret_key and secret_key == app.config["JWT_SECRET_KEY"]:
        raise ConfigurationError("JWT_SECRET_KEY must not be the same value as SECRET_KEY")
    _check_production_rate_limit_storage(app)
    if not app.config["AUTH_FRONTEND_URL"]:
        raise ConfigurationError(
            "AUTH_FRONTEND_URL is not set: mailed links and sign-in redirects lead to the "
            "frontend, e.g. https://app.example.com"
        )
    if app.config["AUTH_OIDC_PROVIDERS"] and not app.config["AUTH_PUBLIC_URL"]:
        raise ConfigurationError(
            "AUTH_PUBLIC_URL is not set: OpenID providers send browsers back to the service's "
            "own public address, e.g. https://auth.example.com"
        )
    if not app.config["AUTH_COOKIE_SECURE"]:
        app.logger.warning(
            "WARNING: AUTH_COOKIE_SECURE is off in production: refresh cookies will also be "
            "sent over plain HTTP. Turn it on unless TLS ends in front of this service."
        )
    if _readable_by_others(app.config.get("JWT_PRIVATE_KEY_FILE")):
        app.logger.warning(
            "WARNING: JWT_PRIVATE_KEY_FILE can be read by other users of this host: anyone "
            "who reads it can sign tokens. Make it mode 0600, owned by the service's user."
        )


def _check_production_rate_limit_storage(app: Flask) -> None:
    uri = app.config["RATELIMIT_STORAGE_URI"]
    if not uri:
        raise ConfigurationError(
            "RATELIMIT_STORAGE_URI is not set: production keeps its brute-force budgets in a "
            "storage shared by every worker and host, e.g. redis://127.0.0.1:6379/0"
        )
    if uri.startswith(MEMORY_STORAGE):
        app.logger.warning(
            "WARNING: RATELIMIT_STORAGE_URI is memory://: each worker process keeps its own "
            "counters, so every brute-force budget is multiplied by the number of workers and "
            "hosts. Use redis://... unless this is a single process."
        )


def _readable_by_others(path: str | None) -> bool:
    """Group or world access to the private key (a missing file is reported when loaded)."""
    if not path:
        return False
    try:
        return bool(os.stat(path).st_mode & 0o077)
    except OSError:
        return False


def _one_query_value(value: str | tuple[str, ...] | None) -> str | None:
    """A URL query parameter given once, or the last of several."""
    return value[-1] if isinstance(value, tuple) else value


def _signing_secret(app: Flask) -> str:
    secret = app.config.get("JWT_SECRET_KEY") or ""
    env = app.config["APP_ENV"]
    if env == "production":
        if not is_strong_secret(secret):
            raise ConfigurationError(
                "JWT_SECRET_KEY is missing or weak: production needs at least 64 random bytes, "
                "e.g. python3 -c 'import secrets; print(secrets.token_hex(64))'"
            )
        return secret
    if secret:
        return secret
    if env == "development":
        return _instance_secret(Path(app.instance_path) / SECRET_FILE)
    return secrets.token_hex(MIN_SECRET_BYTES)


def _mfa_encryption_key(app: Flask) -> str:
    """The Fernet keys that seal TOTP secrets: configured in production (while TOTP is on),
    made once into instance/ in development, made per process in testing."""
    keys = app.config.get("AUTH_MFA_ENCRYPTION_KEY") or ""
    if keys:
        parse_keys(keys)
        return keys
    env = app.config["APP_ENV"]
    if env == "production":
        if app.config["AUTH_TOTP_ENABLED"] or app.config["AUTH_OIDC_PROVIDERS"]:
            raise ConfigurationError(
                "AUTH_MFA_ENCRYPTION_KEY is not set: TOTP secrets and OpenID sign-ins in "
                "progress are sealed with it. Make one with python3 -c 'from "
                "cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
                "; without OpenID providers, AUTH_TOTP_ENABLED=false needs none"
            )
        return new_key()  # seals nothing: TOTP and OpenID sign-in are off
    if env == "development":
        path = Path(app.instance_path) / MFA_KEY_FILE
        if not path.exists():
            write_new_file(path, new_key().encode(), mode=0o600)
        return path.read_text().strip()
    return new_key()


def is_strong_secret(secret: str) -> bool:
    """At least 64 random bytes by its alphabet, not patterned, not a known placeholder."""
    if secret in _PUBLISHED_SECRETS or _PLACEHOLDER_WORDS.search(secret):
        return False
    # Random text barely compresses; a repeated pattern shrinks to a fraction.
    if len(zlib.compress(secret.encode(), 9)) < len(secret) / 2:
        return False
    return _entropy_bytes(secret) >= MIN_SECRET_BYTES


def _instance_secret(path: Path) -> str:
    """Development's secret: made once, kept in instance/ so tokens survive restarts."""
    if not path.exists():
        write_new_file(path, secrets.token_hex(MIN_SECRET_BYTES).encode(), mode=0o600)
    return path.read_text().strip()


def _entropy_bytes(secret: str) -> float:
    """A generous estimate of the random bytes behind ``secret``, by its alphabet."""
    if len(set(secret)) < 16:
        return 0
    if re.fullmatch(r"[0-9a-fA-F]+", secret):
        return len(secret) / 2
    if re.fullmatch(r"[A-Za-z0-9_\-+/=]+", secret):
        return len(secret) * 6 / 8
    return len(secret.encode())
