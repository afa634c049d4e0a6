"""Django REST framework's error bodies: ``{"detail": ...}`` and ``{"field": [...]}``."""

from typing import Any

from flask import Response
from flask import jsonify
from flask import request

from app.core.errors import AuthServiceError

URL_PREFIXES = ("/api/token/", "/api/users/")

TOKEN_NOT_VALID = {"detail": "Token is invalid or expired", "code": "token_not_valid"}
_TOKEN_ERRORS = {"token_invalid", "token_expired", "token_revoked", "token_reused"}

# This face has no second step: the account signs in where there is one.
SECOND_FACTOR_ELSEWHERE = (
    "This account signs in with a second factor, through the blog API's login "
    "(POST /api/v1/auth/login)."
)

_DETAILS = {
    "second_factor_required": SECOND_FACTOR_ELSEWHERE,
    "invalid_credentials": "No active account found with the given credentials",
    "token_missing": "Authentication credentials were not provided.",
    "permission_denied": "You do not have permission to perform this action.",
    "route_not_found": "Not found.",
    "not_found": "Not found.",
    "payload_too_large": "Request body too large.",
    "malformed_request": "JSON parse error.",
    "internal_error": "A server error occurred.",
    "service_unavailable": "Service temporarily unavailable, try again later.",
    "reauthentication_required": "Recent authentication required.",
}

# marshmallow's wording, in the words DRF uses for the same failure.
_DRF_FIELD_MESSAGES = {
    "Missing data for required field.": "This field is required.",
    "Field may not be null.": "This field may not be null.",
}


def render_error(error: AuthServiceError) -> Response:
    response = jsonify(_body_of(error))
    response.status_code = error.status
    if error.status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


def _body_of(error: AuthServiceError) -> dict[str, Any]:
    if error.code in _TOKEN_ERRORS:
        return dict(TOKEN_NOT_VALID)
    if error.code == "reauthentication_required":
        return {"detail": _DETAILS[error.code], "code": error.code}
    if error.code == "rate_limited":
        wait = getattr(error, "retry_after", 60)
        return {"detail": f"Request was throttled. Expected available in {wait} seconds."}
    if error.code == "method_not_allowed":
        return {"detail": f'Method "{request.method}" not allowed.'}
    if error.code == "unsupported_media_type":
        return {"detail": f'Unsupported media type "{request.mimetype}" in request.'}
    if error.details:
        return {field: _drf_messages(messages) for field, messages in error.details.items()}
    return {"detail": _DETAILS.get(error.code, error.message)}


def _drf_messages(messages: Any) -> Any:
    if isinstance(messages, list):
        return [_DRF_FIELD_MESSAGES.get(m, m) if isinstance(m, str) else m for m in messages]
    return messages
