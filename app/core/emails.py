"""Email addresses as the core stores and compares them."""

import re

# Deliberately loose: the mailbox is proven by delivery, not by a regular expression.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")


def normalize_email(email: str) -> str:
    """Emails compare case-insensitively, so the core keeps them lower-cased."""
    return email.strip().lower()


def is_valid_email(email: str) -> bool:
    return len(email) <= 254 and _EMAIL.match(email) is not None
