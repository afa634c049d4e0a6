"""The token checks of the verify endpoints: is any token this service issued (access,
refresh or client) signed, unexpired and still honoured?"""

from app.core import attempts
from app.core.accounts import clients
from app.core.errors import TokenInvalidError
from app.core.errors import TokenRevokedError
from app.core.sessions import callers
from app.core.sessions import sessions
from app.core.tokens.tokens import CLIENT_TOKEN
from app.core.tokens.tokens import decode_any_token


def verify_token(*, token: str) -> None:
    """Pass if the token is signed, unexpired, and still honoured by the database."""
    claims = attempts.checked_token(lambda: decode_any_token(token))
    kind = claims.get("type")
    if kind == "access":
        if callers.find_caller(claims) is None:
            raise TokenRevokedError()
    elif kind == "refresh":
        sessions.check_refresh_token(refresh_token=token)
    elif kind == CLIENT_TOKEN:
        clients.verify_client_token(token=token)
    else:
        raise TokenInvalidError()
