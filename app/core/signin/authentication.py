"""Sign-up and login with a password, on any face: the password checked against the login
budgets (charged here, before the check: app/core/attempts.py), an imported hash upgraded,
the second factor asked for where the face has a second step, and the session opened."""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import update

from app.core import attempts
from app.core.accounts import accounts
from app.core.audit import audit
from app.core.audit.origin import ClientInfo
from app.core.errors import AuthServiceError
from app.core.errors import InvalidCredentialsError
from app.core.factors import second_factor
from app.core.identities import normalize_username
from app.core.mail.templates import normalize_locale
from app.core.mailbox import mailed_tokens
from app.core.models import User
from app.core.passwords.security import burn_password_check
from app.core.passwords.security import check_password
from app.core.passwords.security import hash_password
from app.core.sessions import sessions
from app.core.sessions.sessions import SignedIn
from app.core.tokens.tokens import TokenPolicy
from app.database import db
from app.database import rows_changed


@dataclass(frozen=True)
class AwaitingVerification:
    """Registered, but not signed in: logins need a verified email first."""

    user: User


def sign_up(
    *,
    email: str,
    password: str,
    role: str,
    dialect: str,
    policy: TokenPolicy,
    client: ClientInfo,
    locale: str | None = None,
) -> SignedIn | AwaitingVerification:
    """Create the account with its verification mail (one transaction), and sign it in unless
    logins need a verified email (AUTH_REQUIRE_VERIFIED_EMAIL). ``locale``: the language the
    client prefers (Accept-Language), for the account's mails."""
    try:
        user = accounts.register_user(
            email=email,
            password=password,
            role=role,
            locale=normalize_locale(locale),
            welcome=mailed_tokens.send_verification,
        )
    except AuthServiceError as error:
        audit.record(event="register", outcome="failure", details={"reason": error.code})
        raise
    if current_app.config["AUTH_REQUIRE_VERIFIED_EMAIL"]:
        audit.record(
            event="register", outcome="success", user_id=user.id, details={"signed_in": False}
        )
        return AwaitingVerification(user=user)
    return _signed_in("register", user, dialect, policy, client)


def log_in(
    *,
    identifier: str,
    password: str,
    dialect: str,
    policy: TokenPolicy,
    client: ClientInfo,
    second_step: bool = False,
) -> SignedIn:
    """A password login on ``dialect``'s face; an account with a second factor gets an
    mfaToken where the face has a ``second_step``, and bad credentials where it has none."""
    try:
        user = authenticate(identifier=identifier, password=password)
    except InvalidCredentialsError as error:
        audit.record(event="login", outcome="failure", user_id=error.user_id)
        raise
    # Checked after the password, so only the account's owner learns why.
    sessions.require_may_sign_in(user)
    second_factor.require_no_second_factor(
        user=user, dialect=dialect, second_step=second_step, device_name=client.device_name
    )
    return _signed_in("login", user, dialect, policy, client)


def _signed_in(
    event: str, user: User, dialect: str, policy: TokenPolicy, client: ClientInfo
) -> SignedIn:
    return sessions.complete_sign_in(
        user=user, dialect=dialect, policy=policy, client=client, event=event
    )


def authenticate(*, identifier: str, password: str) -> User:
    """The active user with this email or username and password.

    Unknown, inactive and wrong-password answers are one error after one password check,
    so neither the answer nor its time tells which accounts exist.
    """
    user = accounts.find_by_login(identifier)
    attempt = attempts.reserve_credential_check(
        account=f"user:{user.id}" if user else f"name:{normalize_username(identifier)}"
    )
    if user is None:
        burn_password_check(password)
        raise InvalidCredentialsError()
    check = check_password(user.password_hash, password)
    if not check.matches or not user.is_active:
        raise InvalidCredentialsError(user_id=user.id)
    attempt.succeeded()
    if check.outdated:
        _upgrade_password_hash(user, password, check.format_name)
    return user


def _upgrade_password_hash(user: User, password: str, old_format: str) -> None:
    """Replace an imported or outdated hash by the service's own. Conditional on the hash
    still being the one checked, so a password reset racing this login is never undone."""
    old_hash, new_hash = user.password_hash, hash_password(password)
    changed = rows_changed(
        update(User)
        .where(User.id == user.id, User.password_hash == old_hash)
        .values(password_hash=new_hash)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if changed:
        audit.record(
            event="password_upgraded",
            outcome="success",
            user_id=user.id,
            details={"from": old_format},
        )
