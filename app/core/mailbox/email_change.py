"""Changing an account's email address: asked for by the signed-in owner after a recent
proof of who they are, done only when the new mailbox proves it received the link.

Until the confirmation, the old address stays the account's (it signs in, it gets resets),
so a typo or a stolen access token cannot move the account to a mailbox its owner does not
hold. The confirmation sets the address the token was issued for, in one transaction with
the end of the account's other sessions, the end of every reset or verification link mailed
to the old address, and a notice to the old address. The database's unique address decides
a race for one mailbox: of two accounts confirming the same address, one gets it.
"""

from datetime import timedelta
from urllib.parse import quote

from flask import current_app
from sqlalchemy.exc import IntegrityError

from app.core import attempts
from app.core import clock
from app.core.accounts import accounts
from app.core.audit import audit
from app.core.configuration import frontend_url
from app.core.errors import ConflictError
from app.core.errors import InvalidInputError
from app.core.errors import NotFoundError
from app.core.errors import TooManyAttemptsError
from app.core.factors import step_up
from app.core.hooks import events
from app.core.identities import normalize_email
from app.core.mail import outbox
from app.core.mailbox import account_tokens
from app.core.mailbox.mailed_tokens import InvalidMailedTokenError
from app.core.models import User
from app.core.sessions import sessions
from app.core.sessions.callers import Caller
from app.database import db

CHANGE_MAIL = "email_change"
CHANGED_NOTICE = "email_changed"
TAKEN = "Email is already registered."


def request_email_change(*, caller: Caller, email: str, password: str | None = None) -> None:
    """Mail a confirmation link to ``email`` for the caller's account, after a recent proof
    of who the caller is (or ``password``, brought along)."""
    if password is not None:
        step_up.prove_password(caller=caller, password=password, event="email_change")
    step_up.require_recent_authentication(caller=caller)
    user = db.session.get(User, caller.user.id)
    if user is None:
        raise NotFoundError("User not found.")
    new_email = _checked_new_address(user, email)
    _require_interval(user)
    lifetime = timedelta(seconds=current_app.config["AUTH_EMAIL_CHANGE_SECONDS"])
    token = account_tokens.issue(
        user_id=user.id, purpose=account_tokens.EMAIL_CHANGE, lifetime=lifetime, email=new_email
    )
    outbox.write(_confirmation_mail(user, new_email, token, lifetime))
    db.session.commit()
    audit.record(event="email_change", outcome="requested", user_id=user.id)


def confirm_email_change(*, token: str, holder: Caller | None = None) -> User:
    """Set the address the token was mailed to; every other session of the account ends
    (``holder``'s stays, when it is one of the account's) and the old address is told."""
    attempts.reserve_credential_check(account=None)
    spent = account_tokens.spend_token(raw=token, purpose=account_tokens.EMAIL_CHANGE)
    user = None if spent is None else db.session.get(User, spent.user_id)
    if spent is None or spent.email is None or user is None or not user.is_active:
        db.session.rollback()
        raise InvalidMailedTokenError(
            "Invalid or expired email change token.",
            details={"token": ["Invalid, expired or already used."]},
        )
    old_email = user.email
    _set_address(user, spent.email)
    kept = holder.session_id if holder is not None and holder.user.id == user.id else None
    sessions.end_user_sessions(user_id=user.id, keep_session_id=kept)
    if old_email is not None:
        outbox.write(_notice(user, old_email))
    events.emit("email.changed", user=user)
    events.emit("user.updated", user=user, fields=["email"])
    db.session.commit()
    audit.record(event="email_changed", outcome="success", user_id=user.id)
    return user


def _checked_new_address(user: User, email: str) -> str:
    new_email = normalize_email(email)
    accounts.check_email(new_email)
    if new_email == user.email:
        message = "This is already the account's email address."
        raise InvalidInputError(message, details={"email": [message]})
    if accounts.find_user_by_email(new_email) is not None:
        raise ConflictError(TAKEN)
    return new_email


def _require_interval(user: User) -> None:
    """At most one confirmation mail per AUTH_MAIL_INTERVAL_SECONDS: the endpoint must not
    be a way to flood someone else's mailbox."""
    interval = current_app.config["AUTH_MAIL_INTERVAL_SECONDS"]
    if account_tokens.issued_since(
        user_id=user.id, purpose=account_tokens.EMAIL_CHANGE, seconds=interval
    ):
        db.session.rollback()
        raise TooManyAttemptsError(retry_after=interval)


def _set_address(user: User, new_email: str) -> None:
    """Caller commits. The new address, proven by the mail; links mailed to the old one end."""
    user.email = new_email
    user.email_verified_at = clock.utcnow()
    try:
        db.session.flush()
    except IntegrityError as error:  # another account has this address by now
        db.session.rollback()
        raise ConflictError(TAKEN) from error
    account_tokens.retire(
        user_id=user.id,
        purposes=[account_tokens.PASSWORD_RESET, account_tokens.EMAIL_VERIFICATION],
    )


def _confirmation_mail(user: User, new_email: str, token: str, lifetime: timedelta) -> outbox.Mail:
    return outbox.Mail(
        template=CHANGE_MAIL,
        to=new_email,
        locale=user.locale,
        context={
            "email": new_email,
            "hours": max(1, int(lifetime.total_seconds() // 3600)),
            "link": frontend_url(f"/confirm-email-change?token={quote(token)}"),
            "token": token,
        },
    )


def _notice(user: User, old_email: str) -> outbox.Mail:
    return outbox.Mail(
        template=CHANGED_NOTICE,
        to=old_email,
        locale=user.locale,
        context={"email": old_email, "new_email": masked(user.email or "")},
    )


def masked(email: str) -> str:
    """``ada.lovelace@example.com`` -> ``a***@example.com``: enough for the old address's
    owner to recognise their own change, not enough to hand a thief's address around."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
