"""What the core needs to know of the service's configuration, owned here so that the core
imports nothing from startup (app/startup.py builds on this, never the other way round)."""

import os
from pathlib import Path

from flask import current_app

# The signing algorithms the service mints and accepts (RFC 8725 3.1: an explicit list).
ALLOWED_ALGORITHMS = ("HS256", "RS256", "ES256", "EdDSA")
# The second engine on the same database, in autocommit, for single-statement reads.
AUTOCOMMIT_BIND = "autocommit"


class ConfigurationError(RuntimeError):
    """The service must not start with this configuration."""


def write_new_file(path: Path, data: bytes, *, mode: int) -> None:
    """Write a file that must not exist yet, created with ``mode`` (never wider first):
    the instance secret and private keys are never readable by others, not even briefly."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(data)


def frontend_url(path: str) -> str:
    """``path`` (with its leading slash) on the frontend, AUTH_FRONTEND_URL: where mailed
    links and OpenID sign-ins send the browser."""
    base: str = current_app.config["AUTH_FRONTEND_URL"]
    return base.rstrip("/") + path
