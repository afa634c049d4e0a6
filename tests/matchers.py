"""Values that stand for "any value of this shape" in whole-body comparisons."""

import re
from typing import Any


class Matches:
    def __init__(self, pattern: str):
        self._pattern = re.compile(pattern)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, str) and self._pattern.fullmatch(other) is not None

    def __repr__(self) -> str:
        return f"Matches({self._pattern.pattern!r})"


JWT = Matches(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
TIMESTAMP = Matches(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")
DIGITS = Matches(r"\d+")


def blog_user(email: str, username: Any, role: str = "user", **extra: Any) -> dict[str, Any]:
    """The blog document's user object."""
    return {
        "_id": DIGITS,
        "email": email,
        "username": username,
        "role": role,
        "firstName": None,
        "lastName": None,
        "displayName": None,
        "socialLinks": {},
        "locale": None,
        "emailVerified": False,
        "createdAt": TIMESTAMP,
        "updatedAt": TIMESTAMP,
        **extra,
    }


def blog_error(error: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": error, "message": message, "details": details or {}}
