"""The CMG error body: ``{"statusCode": 401, "message": "...", "error": "Unauthorized"}``."""

from http import HTTPStatus

from flask import Response
from flask import jsonify

from app.core.errors import AuthServiceError

URL_PREFIXES = ("/auth/",)

FORBIDDEN = "You don't have permission to access this resource"
# This face has no second step: the account signs in where there is one.
SECOND_FACTOR_ELSEWHERE = (
    "This account signs in with a second factor, through the blog API's login "
    "(POST /api/v1/auth/login)."
)

_MESSAGES = {
    "second_factor_required": SECOND_FACTOR_ELSEWHERE,
    "invalid_credentials": "Invalid username or password",
    "token_missing": "Authorization header missing",
    "token_expired": "Token expired",
    "token_invalid": "Invalid token",
    "token_revoked": "Invalid token",
    "token_reused": "Invalid token",
    "permission_denied": FORBIDDEN,
    "cross_site_request": FORBIDDEN,
    "reauthentication_required": "Recent authentication required",
}


def render_error(error: AuthServiceError) -> Response:
    response = jsonify(
        {
            "statusCode": error.status,
            "message": _MESSAGES.get(error.code, _message_of(error)),
            "error": HTTPStatus(error.status).phrase,
        }
    )
    response.status_code = error.status
    return response


def _message_of(error: AuthServiceError) -> str:
    """A validation error's field messages folded into the one message string."""
    if not error.details:
        return error.message
    return "; ".join(
        f"{field}: {' '.join(map(str, messages)) if isinstance(messages, list) else messages}"
        for field, messages in error.details.items()
    )
