"""The password policy (OWASP ASVS 5 V6.2): length, common passwords, not the identity.

Passwords are compared exactly: no truncation, spaces count, and Unicode is normalised once
(NFKC), so the same password typed on two keyboards is one password.
"""

import gzip
import unicodedata
from functools import cache
from pathlib import Path

from flask import current_app

from app.core.errors import InvalidInputError

COMMON_PASSWORDS = Path(__file__).parent / "data" / "common-passwords.txt.gz"


def normalize_password(password: str) -> str:
    return unicodedata.normalize("NFKC", password)


def max_length() -> int:
    return int(current_app.config["AUTH_PASSWORD_MAX_LENGTH"])


def check_new_password(password: str, *, username: str, email: str) -> None:
    """Raise InvalidInputError (field ``password``) unless ``password`` may be set."""
    problem = _problem_with(normalize_password(password), username=username, email=email)
    if problem:
        raise InvalidInputError(problem, details={"password": [problem]})


def _problem_with(password: str, *, username: str, email: str) -> str | None:
    low, high = current_app.config["AUTH_PASSWORD_MIN_LENGTH"], max_length()
    if not low <= len(password) <= high:
        return f"Password must be {low} to {high} characters long."
    folded = password.casefold()
    if folded in _common_passwords():
        return "This password is too common."
    if folded in {username.casefold(), email.casefold(), email.split("@")[0].casefold()}:
        return "The password must not be the username or email."
    return None


@cache
def _common_passwords() -> frozenset[str]:
    with gzip.open(COMMON_PASSWORDS, "rt", encoding="utf-8") as lines:
        return frozenset(line.strip() for line in lines if line.strip())
