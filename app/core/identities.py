"""Emails and usernames as the core stores and compares them.

Both are normalised once, before any uniqueness check, lookup or whitelist match: Unicode
NFKC (so full-width and other compatibility look-alikes fold to one form), surrounding space
removed, lower-cased. Case and look-alike variants therefore never make a second account.
"""

import re
import unicodedata

# Deliberately loose: the mailbox is proven by delivery, not by a regular expression.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
# No '@', so a login name is never mistaken for an email address.
_USERNAME = re.compile(r"^[a-z0-9_.-]{3,150}$")


def normalize_email(email: str) -> str:
    return unicodedata.normalize("NFKC", email).strip().lower()


def normalize_username(username: str) -> str:
    return unicodedata.normalize("NFKC", username).strip().lower()


def is_valid_email(email: str) -> bool:
    return len(email) <= 254 and _EMAIL.match(email) is not None


def is_valid_username(username: str) -> bool:
    return _USERNAME.match(username) is not None


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
