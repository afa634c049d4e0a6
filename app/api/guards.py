"""Decorators for a team's own views, beside flask-jwt-extended's ``@jwt_required()``.

``roles_required`` and ``permission_required`` authenticate the request exactly as
``@jwt_required()`` does (the one boundary, app/api/jwt_callbacks.py) and then check the
caller's roles or permissions as read from the database on this request, like the admin
endpoints do; a token's ``roles`` claim grants nothing. ``client_token_required`` is for
machine-to-machine views: it accepts only a client-credentials token of an active client,
available as ``current_client``. ``recent_authentication_required`` is the step-up the
service's own sensitive actions pass, for a team's (flask-jwt-extended's ``fresh``, decided by
the database). Refusals are 401 or 403 in the format of the request's
dialect prefix, or the neutral ``{"error", "message"}`` body elsewhere (README, "Adding your
own endpoints").
"""

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec
from typing import TypeVar
from typing import cast

from flask import g
from flask_jwt_extended import verify_jwt_in_request
from werkzeug.local import LocalProxy

from app.api.auth import refuse_admin_without_second_factor
from app.api.requests import required_bearer_token
from app.core import roles
from app.core.accounts import clients
from app.core.errors import PermissionDeniedError
from app.core.factors import step_up
from app.core.sessions.callers import CallingUser

P = ParamSpec("P")
R = TypeVar("R")

current_client = cast(clients.CallingClient, LocalProxy(lambda: g.client))


def roles_required(*names: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Only a user holding every one of ``names`` (403 otherwise); for ``admin``, with
    AUTH_ADMIN_REQUIRES_MFA, only from a login with a second factor, as the service's own
    admin endpoints."""
    return _caller_must(
        lambda user: set(names) <= set(user.role_names), admin_power=roles.ADMIN in names
    )


def permission_required(*names: str) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Only a user whose roles grant every one of ``names`` (403 otherwise)."""
    return _caller_must(lambda user: set(names) <= set(user.permission_names))


def recent_authentication_required(
    *, second_factor: bool = False
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    """Only a caller whose session proved who holds it within AUTH_REAUTH_MAX_AGE_SECONDS
    (the login, or POST /api/v1/auth/reauthenticate), as the service's own sensitive actions
    require; with ``second_factor``, a proof by a second factor when the account has one.
    The session's record in the database decides (app/core/factors/step_up.py); a refusal is
    401 ``reauthentication_required`` with the ``methods`` the account can prove itself with."""

    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            verify_jwt_in_request()
            step_up.require_recent_authentication(caller=g.caller, factor_change=second_factor)
            return view(*args, **kwargs)

        return guarded

    return decorate


def client_token_required(view: Callable[P, R]) -> Callable[P, R]:
    """Only a client-credentials token of an active client; user tokens are refused."""

    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        g.client = clients.verify_client_token(token=required_bearer_token())
        return view(*args, **kwargs)

    return guarded


def _caller_must(
    allowed: Callable[[CallingUser], bool], *, admin_power: bool = False
) -> Callable[[Callable[P, R]], Callable[P, R]]:
    def decorate(view: Callable[P, R]) -> Callable[P, R]:
        @wraps(view)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
            verify_jwt_in_request()
            if not allowed(g.caller.user):
                raise PermissionDeniedError()
            if admin_power:
                refuse_admin_without_second_factor(g.caller)
            return view(*args, **kwargs)

        return guarded

    return decorate
