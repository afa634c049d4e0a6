"""What a signed-in user does to their own account: edit the profile, take out their data,
delete the account. (Changing the email address goes through the new mailbox:
app/core/mailbox/email_change.py.)"""

from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core import clock
from app.core import roles
from app.core.accounts import accounts
from app.core.accounts.accounts import lock_admins
from app.core.audit import audit
from app.core.errors import ConflictError
from app.core.errors import InvalidInputError
from app.core.errors import NotFoundError
from app.core.factors import passkeys
from app.core.factors import recovery_codes
from app.core.factors import step_up
from app.core.factors import totp
from app.core.hooks import events
from app.core.identities import is_valid_username
from app.core.identities import normalize_username
from app.core.mail.templates import normalize_locale
from app.core.models import AuthEvent
from app.core.models import OidcIdentity
from app.core.models import Passkey
from app.core.models import User
from app.core.sessions import sessions
from app.core.sessions.callers import Caller
from app.database import db

PROFILE_FIELDS = frozenset(
    {"username", "first_name", "last_name", "display_name", "social_links", "locale"}
)
_FIELD_NAMES = {
    "username": "username",
    "first_name": "firstName",
    "last_name": "lastName",
    "display_name": "displayName",
    "social_links": "socialLinks",
    "locale": "locale",
}
EXPORTED_EVENTS = 1000  # the newest; the admins' audit log keeps the rest


def update_profile(*, caller: Caller, changes: Mapping[str, Any]) -> User:
    """Change the caller's own profile fields (``PROFILE_FIELDS``); a username must be
    valid and free, a locale a language tag."""
    unknown = set(changes) - PROFILE_FIELDS
    if unknown:
        raise InvalidInputError(details={name: ["Unknown field."] for name in sorted(unknown)})
    user = _own_user(caller)
    for name, value in _checked_profile(user, changes).items():
        setattr(user, name, value)
    if changes:
        events.emit(
            "user.updated", user=user, fields=sorted(_FIELD_NAMES[name] for name in changes)
        )
    try:
        db.session.commit()
    except IntegrityError as error:  # another account took the username in the meantime
        db.session.rollback()
        raise ConflictError("Username is already taken.") from error
    if changes:
        audit.record(
            event="user_updated",
            outcome="success",
            user_id=user.id,
            session_id=caller.session_id,
            details={"fields": sorted(changes), "by": "self"},
        )
    return user


def _checked_profile(user: User, changes: Mapping[str, Any]) -> dict[str, Any]:
    checked = dict(changes)
    if "username" in checked:
        checked["username"] = _free_username(user, checked["username"])
    if checked.get("locale") is not None:
        locale = normalize_locale(checked["locale"])
        if locale is None:
            message = "Not a language tag (such as en or pt-BR)."
            raise InvalidInputError(message, details={"locale": [message]})
        checked["locale"] = locale
    return checked


def _free_username(user: User, wanted: str) -> str:
    username = normalize_username(wanted)
    if not is_valid_username(username):
        message = "A username is 3 to 150 of a-z, 0-9, '_', '.' or '-'."
        raise InvalidInputError(message, details={"username": [message]})
    holder = db.session.scalar(select(User.id).where(User.username == username))
    if holder is not None and holder != user.id:
        raise ConflictError("Username is already taken.")
    return username


def delete_own_account(*, caller: Caller, password: str | None = None) -> None:
    """Delete the caller's account and all that hangs from it (sessions, factors, passkeys,
    identities, mailed tokens), after a recent proof of who the caller is; never the last
    active admin."""
    if password is not None:
        step_up.prove_password(caller=caller, password=password, event="user_deleted")
    step_up.require_recent_authentication(caller=caller)
    is_admin = roles.ADMIN in caller.user.role_names
    if is_admin:
        lock_admins()
    accounts.remove_account(_own_user(caller))
    db.session.commit()
    audit.record(
        event="user_deleted",
        outcome="success",
        user_id=caller.user.id,
        target_user_id=caller.user.id,
        details={"target_user_id": caller.user.id, "by": "self"},
    )


@dataclass(frozen=True)
class SecondFactors:
    totp_enabled: bool
    recovery_codes_left: int
    passkeys: Sequence[Passkey]


@dataclass(frozen=True)
class AccountExport:
    """Everything the service keeps about a user that the user may read: never a hash, a
    secret, a token or a code."""

    exported_at: datetime
    user: User
    sessions: list[sessions.LiveSession]
    second_factors: SecondFactors
    identities: Sequence[OidcIdentity]
    events: Sequence[AuthEvent]


def export_own_data(*, caller: Caller) -> AccountExport:
    """The caller's own data, for them to take away (GDPR art. 15 and 20)."""
    user = _own_user(caller)
    exported = AccountExport(
        exported_at=clock.utcnow(),
        user=user,
        sessions=sessions.list_live_sessions(caller=caller),
        second_factors=second_factors_of(user_id=user.id),
        identities=identities_of(user_id=user.id),
        events=audit.events_of(user_id=user.id, limit=EXPORTED_EVENTS),
    )
    audit.record(event="data_exported", outcome="success", user_id=user.id)
    return exported


def own_second_factors(*, caller: Caller) -> SecondFactors:
    return second_factors_of(user_id=caller.user.id)


def second_factors_of(*, user_id: int) -> SecondFactors:
    return SecondFactors(
        totp_enabled=totp.is_on(user_id=user_id),
        recovery_codes_left=recovery_codes.codes_left(user_id=user_id),
        passkeys=passkeys.list_passkeys(user_id=user_id),
    )


def identities_of(*, user_id: int) -> Sequence[OidcIdentity]:
    """The provider identities linked to the account."""
    return db.session.scalars(
        select(OidcIdentity).where(OidcIdentity.user_id == user_id).order_by(OidcIdentity.id)
    ).all()


def _own_user(caller: Caller) -> User:
    user = db.session.get(User, caller.user.id)
    if user is None:
        raise NotFoundError("User not found.")
    return user
