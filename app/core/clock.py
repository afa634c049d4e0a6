"""The one source of time, so tests can freeze it."""

from datetime import UTC
from datetime import datetime


def utcnow() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return datetime.now(UTC)
