"""Brute-force limits on the credential endpoints (OWASP ASVS 5 V6.3.1).

- Per client IP, every credential attempt (logins, register, client auth) draws from one
  budget shared by all dialects, and refreshes from another.
- Per account, failed attempts (wrong password, wrong client key, wrong current password)
  draw from one budget shared by all five dialects, keyed by the account itself, so its email
  and username, or five dialects, never give five budgets. While it is spent, every attempt on
  the account is refused, the right password included; the window moves, so the lock lifts by
  itself and an attacker cannot keep a victim out for longer than one window.
"""

from collections.abc import Callable
from contextlib import suppress
from typing import Any
from typing import TypeVar

import jwt
from flask import Response
from flask import current_app
from flask import g
from flask import request
from flask_limiter.util import get_remote_address
from sqlalchemy.exc import SQLAlchemyError

from app.core.identities import is_storable
from app.core.identities import normalize_username
from app.core.services import accounts
from app.extensions import db
from app.extensions import limiter

F = TypeVar("F", bound=Callable[..., Any])

_IDENTIFIER_FIELDS = ("email", "username")


def credential_endpoint(view: F) -> F:
    """Limit a view that checks a password or client key."""
    per_account = limiter.shared_limit(
        _configured("AUTH_RATELIMIT_FAILURES_PER_ACCOUNT"),
        scope="account-failures",
        key_func=_account_key,
        deduct_when=_attempt_failed,
    )
    per_ip = limiter.shared_limit(
        _configured("AUTH_RATELIMIT_CREDENTIALS_PER_IP"),
        scope="credentials",
        key_func=get_remote_address,
    )
    return per_ip(per_account(view))


def refresh_endpoint(view: F) -> F:
    """Limit a view that spends a refresh token."""
    return limiter.shared_limit(
        _configured("AUTH_RATELIMIT_REFRESH_PER_IP"), scope="refresh", key_func=get_remote_address
    )(view)


def note_failed_attempt() -> None:
    """Called when a credential check fails, so the account's budget is charged."""
    g.auth_attempt_failed = True


def _attempt_failed(_response: Response) -> bool:
    return bool(g.get("auth_attempt_failed"))


def _configured(key: str) -> Callable[[], str]:
    return lambda: current_app.config[key]


def _account_key() -> str:
    body = _json_object()
    client_id = body.get("clientId")
    if isinstance(client_id, str) and is_storable(client_id):
        return f"client:{client_id[:64]}"
    for field in _IDENTIFIER_FIELDS:
        identifier = body.get(field)
        if isinstance(identifier, str) and identifier.strip() and is_storable(identifier):
            return _user_key(identifier[:254])
    return _bearer_subject() or "anonymous"


def _user_key(identifier: str) -> str:
    try:
        user_id = accounts.find_user_id(identifier=identifier)
    except SQLAlchemyError:
        # Flask-Limiter takes any error here for a dead Redis and would fall back to
        # per-process limits; the view meets the database outage itself and answers 503.
        with suppress(SQLAlchemyError):
            db.session.rollback()
        user_id = None
    return f"user:{user_id}" if user_id is not None else f"name:{normalize_username(identifier)}"


def _bearer_subject() -> str | None:
    """The user an access token names, unverified: only used to pick the budget to test.
    The budget is charged only after the token was verified and the password was wrong."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    try:
        sub = jwt.decode(token.strip(), options={"verify_signature": False}).get("sub")
    except jwt.InvalidTokenError:
        return None
    return f"user:{sub}" if isinstance(sub, str) and sub.isdigit() else None


def _json_object() -> dict[str, Any]:
    try:
        body = request.get_json(silent=True)
    except RecursionError:
        return {}
    return body if isinstance(body, dict) else {}
