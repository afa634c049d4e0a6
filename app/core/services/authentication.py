"""Sign-up and login: an account check followed by a new session."""

from dataclasses import dataclass

from app.core.errors import AuthServiceError
from app.core.errors import InvalidCredentialsError
from app.core.models import User
from app.core.services import accounts
from app.core.services import audit
from app.core.services import sessions
from app.core.tokens import IssuedTokens
from app.core.tokens import TokenPolicy


@dataclass(frozen=True)
class ClientInfo:
    """Where a login comes from, kept on its session."""

    user_agent: str | None
    ip: str | None


@dataclass(frozen=True)
class SignedIn:
    user: User
    tokens: IssuedTokens


def sign_up(
    *, email: str, password: str, role: str, dialect: str, policy: TokenPolicy, client: ClientInfo
) -> SignedIn:
    try:
        user = accounts.register_user(email=email, password=password, role=role)
    except AuthServiceError as error:
        audit.record(event="register", outcome="failure", details={"reason": error.code})
        raise
    return _signed_in("register", user, dialect, policy, client)


def log_in(
    *, identifier: str, password: str, dialect: str, policy: TokenPolicy, client: ClientInfo
) -> SignedIn:
    try:
        user = accounts.authenticate(identifier=identifier, password=password)
    except InvalidCredentialsError as error:
        audit.record(event="login", outcome="failure", user_id=error.user_id)
        raise
    return _signed_in("login", user, dialect, policy, client)


def _signed_in(
    event: str, user: User, dialect: str, policy: TokenPolicy, client: ClientInfo
) -> SignedIn:
    tokens = sessions.open_session(
        user=user, dialect=dialect, policy=policy, user_agent=client.user_agent, ip=client.ip
    )
    audit.record(event=event, outcome="success", user_id=user.id, session_id=tokens.session_id)
    return SignedIn(user=user, tokens=tokens)
