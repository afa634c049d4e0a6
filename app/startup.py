"""Configuration settled at startup: the database URL, the signing secret, sanity checks."""

import os
import re
import secrets
from pathlib import Path

from flask import Flask

SECRET_FILE = "jwt-secret.key"  # noqa: S105 (a file name, not a secret)
MIN_SECRET_BYTES = 64


class ConfigurationError(RuntimeError):
    """The service must not start with this configuration."""


def settle_config(app: Flask) -> None:
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        app.config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{Path(app.instance_path) / 'auth.db'}"
    app.config["JWT_SECRET_KEY"] = _signing_secret(app)


def _signing_secret(app: Flask) -> str:
    secret = app.config.get("JWT_SECRET_KEY") or ""
    env = app.config["APP_ENV"]
    if env == "production":
        if _entropy_bytes(secret) < MIN_SECRET_BYTES:
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


def _instance_secret(path: Path) -> str:
    """Development's secret: made once, kept in instance/ so tokens survive restarts."""
    if not path.exists():
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "w") as handle:
            handle.write(secrets.token_hex(MIN_SECRET_BYTES))
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
