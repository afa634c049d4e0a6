"""Every flask-jwt-extended loader, in one place.

The loaders turn the library's failures into domain errors and hand them to ``render``,
which answers in the format of the dialect serving the request (the library's own default
for an invalid token is a 422, which no document describes).
"""

from collections.abc import Callable
from typing import Any

from flask import Response
from flask import current_app
from flask_jwt_extended import JWTManager

from app.core.errors import AuthServiceError
from app.core.errors import TokenExpiredError
from app.core.errors import TokenInvalidError
from app.core.errors import TokenMissingError
from app.core.errors import TokenRevokedError
from app.core.services.sessions import Caller
from app.core.services.sessions import find_caller
from app.core.token_rules import check_token_shape

Renderer = Callable[[AuthServiceError], Response]


def register_jwt_callbacks(jwt: JWTManager, render: Renderer) -> None:
    @jwt.decode_key_loader
    def checked_decode_key(header: dict[str, Any], claims: dict[str, Any]) -> str:
        # The key never comes from the token: kid, jku and x5u are not looked at.
        check_token_shape(header, claims)
        return current_app.config["JWT_SECRET_KEY"]

    @jwt.user_lookup_loader
    def load_caller(_header: dict[str, Any], claims: dict[str, Any]) -> Caller | None:
        return find_caller(claims)

    @jwt.user_lookup_error_loader
    def caller_not_found(_header: dict[str, Any], _claims: dict[str, Any]) -> Response:
        return render(TokenRevokedError())

    @jwt.revoked_token_loader
    def token_revoked(_header: dict[str, Any], _claims: dict[str, Any]) -> Response:
        return render(TokenRevokedError())

    @jwt.unauthorized_loader
    def token_missing(_reason: str) -> Response:
        return render(TokenMissingError())

    @jwt.invalid_token_loader
    def token_invalid(_reason: str) -> Response:
        return render(TokenInvalidError())

    @jwt.expired_token_loader
    def token_expired(_header: dict[str, Any], _claims: dict[str, Any]) -> Response:
        return render(TokenExpiredError())

    @jwt.needs_fresh_token_loader
    def token_not_fresh(_header: dict[str, Any], _claims: dict[str, Any]) -> Response:
        return render(TokenInvalidError())

    @jwt.token_verification_failed_loader
    def token_verification_failed(_header: dict[str, Any], _claims: dict[str, Any]) -> Response:
        return render(TokenInvalidError())
