"""flask-jwt-extended wired to the core through its public loaders: one authentication
boundary.

A team's own view decorated with ``@jwt_required()`` accepts and refuses exactly the tokens
the service's own views do (app/api/auth.py), for the same reasons and with the same single
database read. Before flask-jwt-extended checks a request's token with PyJWT, its
``decode_key_loader`` runs the service's own verifier on it (app/core/tokens/verifier.py: the
strict reading, the service's keys and rules, the verified-token cache), so a token the
service refuses never passes; then only a user access token passes, its session must be
live, its user active and the token not revoked (``find_caller``, the blocklist loader), and
``current_user`` is the caller read on that request. Every refusal is a domain error,
answered in the format of the dialect whose prefix the request is under, or in the neutral
``{"error", "message"}`` body elsewhere. No private method of the library is touched.
"""

from typing import Any

from flask import Response
from flask import g
from flask import has_request_context

from app.api.auth import caller_for
from app.api.errors import render_error
from app.api.requests import bearer_token
from app.core.bounds import can_be_row_id
from app.core.errors import AuthServiceError
from app.core.errors import ReauthenticationRequiredError
from app.core.errors import TokenExpiredError
from app.core.errors import TokenInvalidError
from app.core.errors import TokenMissingError
from app.core.errors import TokenRevokedError
from app.core.factors import step_up
from app.core.sessions.callers import CallingUser
from app.core.tokens import keys
from app.core.tokens.verifier import token_verifier
from app.extensions import jwt


def install_jwt_callbacks() -> None:
    """Register every loader on the extension object (the same for every app)."""
    jwt.encode_key_loader(keys.encode_key)
    jwt.additional_headers_loader(keys.kid_header)
    jwt.decode_key_loader(_key_after_the_services_checks)
    jwt.token_in_blocklist_loader(_not_honoured)
    jwt.token_verification_loader(_is_user_access_token)
    jwt.user_lookup_loader(_calling_user)
    jwt.unauthorized_loader(_no_usable_header)
    jwt.invalid_token_loader(lambda _reason: render_error(TokenInvalidError()))
    jwt.expired_token_loader(lambda _header, _data: render_error(TokenExpiredError()))
    jwt.revoked_token_loader(lambda _header, _data: render_error(TokenRevokedError()))
    jwt.user_lookup_error_loader(lambda _header, _data: render_error(TokenRevokedError()))
    jwt.token_verification_failed_loader(lambda _header, _data: render_error(TokenInvalidError()))
    jwt.needs_fresh_token_loader(_needs_recent_proof)


def _key_after_the_services_checks(header: dict[str, Any], _unverified: dict[str, Any]) -> Any:
    """The key PyJWT checks a token with, once the service's own verifier has accepted the
    request's bearer token (the token ``@jwt_required()`` decodes); its refusal is the
    service's own error. Outside a request (a token decoded by hand with ``decode_token``)
    PyJWT's checks stand alone."""
    token = bearer_token() if has_request_context() else None
    if token is not None:
        token_verifier().decode(token)
    return keys.decode_key(header)


def _not_honoured(_header: dict[str, Any], claims: dict[str, Any]) -> bool:
    """The service's own check, run once: a refresh or client token is invalid here, an ended
    session, inactive or deleted user or revoked token is revoked. Raises the domain error
    itself, so the answer is word for word the service's own."""
    g.caller = caller_for(claims)
    return False


def _is_user_access_token(_header: dict[str, Any], claims: dict[str, Any]) -> bool:
    return claims.get("type") == "access"


def _calling_user(_header: dict[str, Any], _claims: dict[str, Any]) -> CallingUser:
    return g.caller.user


def _needs_recent_proof(_header: dict[str, Any], claims: dict[str, Any]) -> Response:
    """``@jwt_required(fresh=True)`` and a token minted more than AUTH_REAUTH_MAX_AGE_SECONDS
    after its session's latest proof (its ``fresh`` claim has passed): the step-up refusal."""
    sub = claims.get("sub")
    methods: list[str] = []
    if isinstance(sub, str) and sub.isascii() and sub.isdigit() and can_be_row_id(int(sub)):
        methods = step_up.proof_methods(user_id=int(sub), second_factor_only=False)
    return render_error(ReauthenticationRequiredError(details={"methods": methods}))


def _no_usable_header(_reason: str) -> Response:
    """No bearer token flask-jwt-extended can read: missing, or a header of another shape."""
    try:
        token = bearer_token()
    except AuthServiceError as error:
        return render_error(error)
    return render_error(TokenMissingError() if token is None else TokenInvalidError())
