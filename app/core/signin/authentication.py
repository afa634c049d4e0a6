"""Sign-up and login: an account check followed by a new session."""

from dataclasses import dataclass

from flask import current_app

from app.core.accounts import accounts
from app.core.audit import audit
from app.core.errors import AuthServiceError
from app.core.errors import InvalidCredentialsError
from app.core.factors import second_factor
from app.core.mailbox import mailed_tokens
from app.core.models import User
from app.core.sessions import sessions
from app.core.sessions.sessions import ClientInfo
from app.core.sessions.sessions import SignedIn
from app.core.tokens.tokens import TokenPolicy


@dataclass(frozen=True)
class AwaitingVerification:
    """Registered, but not signed in: logins need a verified email first."""

    user: User


def sign_up(
    *, email: str, password: str, role: str, dialect: str, policy: TokenPolicy, client: ClientInfo
) -> SignedIn | AwaitingVerification:
    """Create the account, mail its verification token, and sign it in unless logins need a
    verified email (AUTH_REQUIRE_VERIFIED_EMAIL)."""
    try:
        user = accounts.register_user(email=email, password=password, role=role)
    except AuthServiceError as error:
        audit.record(event="register", outcome="failure", details={"reason": error.code})
        raise
    mailed_tokens.send_verification(user=user)
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
        user = accounts.authenticate(identifier=identifier, password=password)
    except InvalidCredentialsError as error:
        audit.record(event="login", outcome="failure", user_id=error.user_id)
        raise
    # Checked after the password, so only the account's owner learns why.
    sessions.require_may_sign_in(user)
    second_factor.require_no_second_factor(user=user, dialect=dialect, second_step=second_step)
    return _signed_in("login", user, dialect, policy, client)


def _signed_in(
    event: str, user: User, dialect: str, policy: TokenPolicy, client: ClientInfo
) -> SignedIn:
    return sessions.complete_sign_in(
        user=user, dialect=dialect, policy=policy, client=client, event=event
    )
