"""The access-token guard of every user endpoint, and the caller it finds.

One decode of the bearer token (app/core/tokens/verifier.py) and one database read
(app/core/sessions/callers.py); every failure is a domain error, answered in the format of
the dialect serving the request.
"""

from collections.abc import Callable
from functools import wraps
from typing import Any
from typing import ParamSpec
from typing import TypeVar
from typing import cast

from flask import current_app
from flask import g
from werkzeug.local import LocalProxy

from app.api.requests import bearer_token
from app.api.requests import required_bearer_token
from app.core import roles
from app.core.errors import AuthServiceError
from app.core.errors import PermissionDeniedError
from app.core.errors import TokenInvalidError
from app.core.errors import TokenRevokedError
from app.core.sessions import sessions
from app.core.sessions.callers import Caller
from app.core.sessions.callers import find_caller
from app.core.tokens.tokens import AMR_MFA
from app.core.tokens.verifier import token_verifier

P = ParamSpec("P")
R = TypeVar("R")

current_caller = cast(Caller, LocalProxy(lambda: g.caller))


def access_token_required(view: Callable[P, R]) -> Callable[P, R]:
    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        g.caller = authenticated_caller()
        return view(*args, **kwargs)

    return guarded


def admin_endpoint(view: Callable[P, R]) -> Callable[P, R]:
    """An admin endpoint, for an access token of a live session. With AUTH_ADMIN_REQUIRES_MFA,
    an admin's token whose login had no second factor is refused (403); anyone else goes on to
    the endpoint's own role check."""

    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        g.caller = authenticated_caller()
        refuse_admin_without_second_factor(g.caller)
        return view(*args, **kwargs)

    return guarded


def refuse_admin_without_second_factor(caller: Caller) -> None:
    """With AUTH_ADMIN_REQUIRES_MFA, an admin whose token's login had no second factor is
    refused (403) wherever admin power is asked for: the service's admin endpoints and a
    team's ``roles_required("admin")`` alike."""
    if (
        current_app.config["AUTH_ADMIN_REQUIRES_MFA"]
        and roles.has_role(caller.user, roles.ADMIN)
        and AMR_MFA not in caller.methods
    ):
        raise PermissionDeniedError(
            "Admin endpoints need a sign-in with a second factor: log in again with "
            "your password and second factor."
        )


def logout_caller(refresh_token: str | None) -> Caller | None:
    """The caller of the access token; or None when that token fails but ``refresh_token``
    (the HttpOnly cookie) ended its own session. A user who clicks "log out" after the access
    token expired must not keep a cookie that signs them back in on the next reload. A cookie
    that ends nothing leaves the access token's error standing."""
    try:
        return authenticated_caller()
    except AuthServiceError:
        if refresh_token and sessions.log_out_by_refresh_token(refresh_token=refresh_token):
            return None
        raise


def optional_caller() -> Caller | None:
    """The caller when the request carries a bearer token (which must then be honoured), else
    None: for a public endpoint that does more for a signed-in caller."""
    token = bearer_token()
    return None if token is None else caller_for(token_verifier().decode(token))


def authenticated_caller() -> Caller:
    """The caller behind the request's bearer access token, still honoured by the database."""
    return caller_for(token_verifier().decode(required_bearer_token()))


def caller_for(claims: dict[str, Any]) -> Caller:
    """The caller behind a verified token's claims: a user access token still honoured by the
    database, else TokenInvalidError (another kind) or TokenRevokedError."""
    if claims["type"] != "access":
        raise TokenInvalidError()
    caller = find_caller(claims)
    if caller is None:
        raise TokenRevokedError()
    return caller
