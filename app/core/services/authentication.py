"""Sign-up and login: an account check followed by a new session."""

from dataclasses import dataclass

from app.core.models import User
from app.core.services import accounts
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
    user = accounts.register_user(email=email, password=password, role=role)
    return _signed_in(user, dialect, policy, client)


def log_in(
    *, identifier: str, password: str, dialect: str, policy: TokenPolicy, client: ClientInfo
) -> SignedIn:
    user = accounts.authenticate(identifier=identifier, password=password)
    return _signed_in(user, dialect, policy, client)


def _signed_in(user: User, dialect: str, policy: TokenPolicy, client: ClientInfo) -> SignedIn:
    tokens = sessions.open_session(
        user=user, dialect=dialect, policy=policy, user_agent=client.user_agent, ip=client.ip
    )
    return SignedIn(user=user, tokens=tokens)
