"""Emails and usernames as the core stores and compares them.

Both are normalised once, before any uniqueness check, lookup or whitelist match: Unicode
NFKC (so full-width and other compatibility look-alikes fold to one form), surrounding space
removed, lower-cased. An email is then checked by email-validator (no quoted local part, no
invisible or control characters) and its domain kept in its IDNA (ASCII) form, so one
mailbox is one account: ``"victim"@example.com``, ``victim@example.com`` plus a zero-width
space, and a Unicode domain beside its punycode twin are refused or folded into one.
"""

import re
import unicodedata

from email_validator import EmailNotValidError
from email_validator import validate_email

MAX_EMAIL_LENGTH = 254
# No '@', so a login name is never mistaken for an email address.
_USERNAME = re.compile(r"^[a-z0-9_.-]{3,150}$")


def normalize_email(email: str) -> str:
    """The one form an address is stored and compared in. One that email-validator refuses
    stays only folded, so a lookup never fails on it (and finds a row stored before)."""
    folded = unicodedata.normalize("NFKC", email).strip().lower()
    checked = _checked(folded)
    return folded if checked is None else checked


def canonical_email(email: str) -> str | None:
    """The address's one stored form, or None when it is not a valid address: what
    ``normalize_email`` then ``is_valid_email`` say, with one validation instead of two."""
    checked = _checked(unicodedata.normalize("NFKC", email).strip().lower())
    return checked if checked is not None and len(checked) <= MAX_EMAIL_LENGTH else None


def normalize_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username).strip().lower()


def username_from_email(email: str) -> str:
    """A valid username made from an address's local part (a caller appends digits when it
    is taken)."""
    base = re.sub(r"[^a-z0-9_.-]", "", email.split("@", 1)[0])[:30] or "user"
    return base.ljust(3, "0")


def is_valid_email(email: str) -> bool:
    return len(email) <= MAX_EMAIL_LENGTH and _checked(email) is not None


def is_valid_username(username: str) -> bool:
    return _USERNAME.match(username) is not None


def _checked(email: str) -> str | None:
    """The address with its domain in IDNA form, or None when email-validator refuses it
    (no deliverability check: that would ask DNS on every registration)."""
    try:
        valid = validate_email(email, check_deliverability=False, allow_quoted_local=False)
    except EmailNotValidError:
        return None
    return f"{valid.local_part}@{valid.ascii_domain}"


def is_storable(text: str) -> bool:
    """False for NUL bytes and lone surrogates: no database stores them (PostgreSQL refuses
    both) and no real name, email or password contains them."""
    if "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
