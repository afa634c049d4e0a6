"""The flows that go through the user's mailbox: password reset and email verification.

The mailbox's owner always wins. Until an address is proven, anyone could have registered
it, or added ways in to its account: so the first proof of the mailbox (a reset, or a
verification) ends every way in added before it (provider identities, passkeys, TOTP and
recovery codes, sessions and, for a verification, the password) unless the one who proves the
mailbox also shows they hold the account (its password, or a live session of it).

Asking for a reset (or for the verification mail again) answers the same whether or not the
account exists, in the same time: the request writes a mail job to the outbox, and the lookup,
the token row and the mail happen on the mail courier after the answer
(app/core/mail/outbox.py), so neither the answer nor its time tells who has an account. An
account gets at most one mail of a kind per ``AUTH_MAIL_INTERVAL_SECONDS``, so the endpoints
cannot be used to flood a mailbox.
"""

from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import quote

from flask import current_app
from sqlalchemy import delete

from app.core import attempts
from app.core.accounts import accounts
from app.core.audit import audit
from app.core.configuration import frontend_url
from app.core.errors import InvalidInputError
from app.core.errors import WrongCurrentPasswordError
from app.core.factors import mfa_lock
from app.core.factors import second_factor
from app.core.identities import normalize_email
from app.core.mail import outbox
from app.core.mailbox import account_tokens
from app.core.models import OidcIdentity
from app.core.models import User
from app.core.passwords.passwords import check_new_password
from app.core.passwords.security import has_usable_password
from app.core.passwords.security import hash_password
from app.core.passwords.security import unusable_password
from app.core.passwords.security import verify_password
from app.core.sessions import sessions
from app.core.sessions.callers import Caller
from app.database import db
from app.database import rows_changed

RESET_MAIL = "password_reset"
VERIFY_MAIL = "email_verification"
RESET_JOB = "password_reset_request"
VERIFY_AGAIN_JOB = "email_verification_request"


class InvalidMailedTokenError(InvalidInputError):
    code = "invalid_mailed_token"


def request_password_reset(*, email: str) -> None:
    """Mail a reset token if an active account has this email; answer the same either way.

    Whether the account exists is looked up off the request path, with the token row and the
    mail, so a known address answers in the time of an unknown one."""
    attempts.reserve_credential_check(account=None)
    outbox.write_job(RESET_JOB, email=email, origin=audit.request_origin())
    db.session.commit()


def _password_reset_mail(*, email: str, origin: dict[str, str | None]) -> outbox.Mail | None:
    """The reset mail's job: the caller (the courier) commits the token with the mail."""
    user = _active_user_with_email(email)
    if user is None or user.email is None:
        return None
    if _mailed_recently(user, account_tokens.PASSWORD_RESET):
        return None
    lifetime = timedelta(seconds=current_app.config["AUTH_PASSWORD_RESET_SECONDS"])
    token = account_tokens.issue(
        user_id=user.id, purpose=account_tokens.PASSWORD_RESET, lifetime=lifetime
    )
    audit.record(event="password_reset", outcome="requested", user_id=user.id, origin=origin)
    return outbox.Mail(
        template=RESET_MAIL,
        to=user.email,
        locale=user.locale,
        context={
            "email": user.email,
            "minutes": int(lifetime.total_seconds() // 60),
            "link": _link("reset-password", token),
            "token": token,
        },
    )


def reset_password(*, token: str, password: str) -> None:
    """Set a new password with a mailed token; the token is spent and every session of the
    user ends. Receiving the mail proves the address, so it also counts as verified."""
    attempts.reserve_credential_check(account=None)
    user_id = account_tokens.spend(raw=token, purpose=account_tokens.PASSWORD_RESET)
    user = None if user_id is None else db.session.get(User, user_id)
    if user is None or not user.is_active:
        db.session.rollback()
        audit.record(event="password_reset", outcome="failure", user_id=user_id)
        raise InvalidMailedTokenError(
            "Invalid or expired reset token.",
            details={"token": ["Invalid, expired or already used."]},
        )
    try:
        check_new_password(password, username=user.username, email=user.email or "")
    except InvalidInputError:
        db.session.rollback()  # the token stays usable with an acceptable password
        raise
    if user.email_verified_at is None:
        _end_ways_in(user)
    user.password_hash = hash_password(password)
    second_factor.void_pending_logins(user_id=user.id)
    mfa_lock.clear(user_id=user.id)
    accounts.mark_email_verified(user)
    sessions.end_user_sessions(user_id=user.id)
    second_factor.notify_owner(user_id=user.id, event="password_changed")
    db.session.commit()
    audit.record(event="password_reset", outcome="success", user_id=user.id)


def send_verification(user: User) -> None:
    """Caller commits. Mail a new account a token that proves its address."""
    mail = _verification_mail(user)
    if mail is not None:
        outbox.write(mail)


def resend_verification(*, email: str) -> None:
    """Mail a new verification token to an unverified active account; the same answer, in
    the same time, for any other address (the lookup is off the request path)."""
    attempts.reserve_credential_check(account=None)
    outbox.write_job(VERIFY_AGAIN_JOB, email=email)
    db.session.commit()


def _verification_mail_again(*, email: str) -> outbox.Mail | None:
    user = _active_user_with_email(email)
    if user is None or user.email_verified_at is not None:
        return None
    if _mailed_recently(user, account_tokens.EMAIL_VERIFICATION):
        return None
    return _verification_mail(user)


def _verification_mail(user: User) -> outbox.Mail | None:
    """Caller commits. Issues a verification token for ``user`` and the mail that carries it;
    None for an account without an address."""
    if user.email is None:
        return None
    lifetime = timedelta(seconds=current_app.config["AUTH_EMAIL_VERIFICATION_SECONDS"])
    token = account_tokens.issue(
        user_id=user.id, purpose=account_tokens.EMAIL_VERIFICATION, lifetime=lifetime
    )
    return outbox.Mail(
        template=VERIFY_MAIL,
        to=user.email,
        locale=user.locale,
        context={"email": user.email, "link": _link("verify-email", token), "token": token},
    )


@dataclass(frozen=True)
class VerifiedEmail:
    user: User
    # The account's earlier ways in were ended: its owner sets a password by a reset.
    ways_in_ended: bool


def verify_email(
    *, token: str, holder: Caller | None = None, password: str | None = None
) -> VerifiedEmail:
    """Mark the address of the token's user verified (and make a pending admin an admin).

    The first proof of the mailbox ends the ways in added before it, unless whoever brings
    the token also holds the account: its ``password``, or a session of it (``holder``)."""
    attempts.reserve_credential_check(account=None)
    user_id = account_tokens.spend(raw=token, purpose=account_tokens.EMAIL_VERIFICATION)
    user = None if user_id is None else db.session.get(User, user_id)
    if user is None:
        db.session.rollback()
        raise InvalidMailedTokenError(
            "Invalid or expired verification token.",
            details={"token": ["Invalid, expired or already used."]},
        )
    ended = False
    if user.email_verified_at is None and not _holds_account(user, holder, password):
        ended = _end_ways_in(user, password_too=True)
    accounts.mark_email_verified(user)
    if ended:
        sessions.end_user_sessions(user_id=user.id)
    db.session.commit()
    audit.record(
        event="email_verified",
        outcome="success",
        user_id=user.id,
        details={"ways_in_ended": True} if ended else None,
    )
    return VerifiedEmail(user=user, ways_in_ended=ended)


def _holds_account(user: User, holder: Caller | None, password: str | None) -> bool:
    """Whether whoever verifies also holds the account; a session of another account, or a
    wrong password, is refused (the token stays unspent)."""
    if holder is not None and holder.user.id != user.id:
        db.session.rollback()
        raise InvalidInputError(
            "You are signed in to another account: sign out, then open the link again."
        )
    if password is None:
        return holder is not None
    attempt = attempts.reserve_credential_check(account=f"user:{user.id}")
    if not verify_password(user.password_hash, password):
        db.session.rollback()
        audit.record(event="email_verified", outcome="failure", user_id=user.id)
        raise WrongCurrentPasswordError()
    attempt.succeeded()
    return True


def _end_ways_in(user: User, *, password_too: bool = False) -> bool:
    """Caller commits (and ends the sessions). End every way into the account that was added
    while its address was unproven: provider identities, second factors, the lock's count and,
    with ``password_too``, the password. Whether there was any."""
    identities = rows_changed(delete(OidcIdentity).where(OidcIdentity.user_id == user.id))
    factors = second_factor.second_step_methods(user_id=user.id)
    second_factor.remove_factors(user_id=user.id)
    mfa_lock.clear(user_id=user.id)
    usable = has_usable_password(user.password_hash)
    if password_too and usable:
        user.password_hash = unusable_password()
        second_factor.void_pending_logins(user_id=user.id)
    live = sessions.count_live_sessions(user_id=user.id)
    ended = bool(identities or factors or live or (password_too and usable))
    if ended:
        audit.stage_events(
            event="ways_in_ended",
            user_ids=[user.id],
            details={
                "identities": identities,
                "factors": factors,
                "sessions": live,
                "password": password_too and usable,
            },
        )
    return ended


def _active_user_with_email(email: str) -> User | None:
    user = db.session.scalar(db.select(User).where(User.email == normalize_email(email)))
    return user if user is not None and user.is_active else None


def _mailed_recently(user: User, purpose: str) -> bool:
    return account_tokens.issued_since(
        user_id=user.id, purpose=purpose, seconds=current_app.config["AUTH_MAIL_INTERVAL_SECONDS"]
    )


def _link(page: str, token: str) -> str:
    return frontend_url(f"/{page}?token={quote(token)}")


outbox.register_job(RESET_JOB, _password_reset_mail)
outbox.register_job(VERIFY_AGAIN_JOB, _verification_mail_again)
