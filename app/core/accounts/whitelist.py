"""The admin whitelist: emails allowed to register as ``admin``.

It is the union of the ``admin_whitelist`` table and ``ADMIN_EMAIL_WHITELIST``.
"""

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core import roles
from app.core.errors import ConflictError
from app.core.errors import InvalidInputError
from app.core.errors import NotFoundError
from app.core.factors import step_up
from app.core.identities import is_valid_email
from app.core.identities import normalize_email
from app.core.models import AdminWhitelistEntry
from app.core.sessions.callers import Caller
from app.database import db


def add_email(*, caller: Caller | None, email: str) -> AdminWhitelistEntry:
    """Allow ``email`` to register as admin (an admin's change after a step-up, or the
    CLI's)."""
    step_up.require_admin(caller=caller)
    email = normalize_email(email)
    if not is_valid_email(email):
        raise InvalidInputError(f"Not a valid email address: {email!r}.")
    if _find(email) is not None:
        raise ConflictError(f"{email} is already on the admin whitelist.")
    entry = AdminWhitelistEntry(email=email)
    db.session.add(entry)
    try:
        db.session.commit()
    except IntegrityError as error:  # added by someone else in the same instant
        db.session.rollback()
        raise ConflictError(f"{email} is already on the admin whitelist.") from error
    step_up.record_admin_change(caller=caller, event="whitelist_added", details={"email": email})
    return entry


def remove_email(*, caller: Caller | None, email: str) -> None:
    """Stop ``email`` from registering as admin (admins made earlier keep their role)."""
    step_up.require_admin(caller=caller)
    entry = _find(normalize_email(email))
    if entry is None:
        raise NotFoundError(f"{normalize_email(email)} is not on the admin whitelist table.")
    db.session.delete(entry)
    db.session.commit()
    step_up.record_admin_change(
        caller=caller, event="whitelist_removed", details={"email": entry.email}
    )


def list_entries(*, actor: roles.Actor) -> list[tuple[str, str]]:
    """Every whitelisted address with where it comes from: ``table`` or ``configuration``."""
    roles.require_role(actor, roles.ADMIN)
    table = [(email, "table") for email in list_emails()]
    return table + [(email, "configuration") for email in configured_emails()]


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
