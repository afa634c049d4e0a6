"""The admin whitelist: emails allowed to register as ``admin``.

It is the union of the ``admin_whitelist`` table and ``ADMIN_EMAIL_WHITELIST``.
"""

from flask import current_app
from sqlalchemy import select

from app.core.errors import ConflictError
from app.core.errors import InvalidInputError
from app.core.errors import NotFoundError
from app.core.identities import is_valid_email
from app.core.identities import normalize_email
from app.core.models import AdminWhitelistEntry
from app.database import db


def add_email(*, email: str) -> AdminWhitelistEntry:
    email = normalize_email(email)
    if not is_valid_email(email):
        raise InvalidInputError(f"Not a valid email address: {email!r}.")
    if _find(email) is not None:
        raise ConflictError(f"{email} is already on the admin whitelist.")
    entry = AdminWhitelistEntry(email=email)
    db.session.add(entry)
    db.session.commit()
    return entry


def remove_email(*, email: str) -> None:
    entry = _find(normalize_email(email))
    if entry is None:
        raise NotFoundError(f"{normalize_email(email)} is not on the admin whitelist table.")
    db.session.delete(entry)
    db.session.commit()


def list_emails() -> list[str]:
    return list(
        db.session.scalars(select(AdminWhitelistEntry.email).order_by(AdminWhitelistEntry.email))
    )


def configured_emails() -> list[str]:
    return sorted(normalize_email(e) for e in current_app.config["ADMIN_EMAIL_WHITELIST"])


def is_whitelisted(email: str) -> bool:
    email = normalize_email(email)
    return email in configured_emails() or _find(email) is not None


def _find(email: str) -> AdminWhitelistEntry | None:
    return db.session.scalar(select(AdminWhitelistEntry).where(AdminWhitelistEntry.email == email))
