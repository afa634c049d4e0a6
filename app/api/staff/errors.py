"""The staff error bodies: ``{"error": "..."}``, and ``{"authenticated": false}`` for /check."""

from flask import Response
from flask import jsonify
from flask import request

from app.core.errors import AuthServiceError

URL_PREFIXES = ("/api/auth/",)
CHECK_ENDPOINT = "staff.check"

# This face has no second step: the account signs in where there is one.
SECOND_FACTOR_ELSEWHERE = (
    "This account signs in with a second factor, through the blog API's login "
    "(POST /api/v1/auth/login)."
)

_MESSAGES = {
    "second_factor_required": SECOND_FACTOR_ELSEWHERE,
    "invalid_credentials": "Invalid credentials",
    "wrong_current_password": "Current password is incorrect",
    "token_missing": "Unauthorized",
    "token_expired": "Unauthorized",
    "token_invalid": "Unauthorized",
    "token_revoked": "Unauthorized",
    "not_found": "User not found",
    "reauthentication_required": "Recent authentication required",
}

# The document names the 500 of each endpoint.
_INTERNAL_MESSAGES = {
    "staff.login": "Login failed",
    "staff.change_password": "Failed to change password",
}


def render_error(error: AuthServiceError) -> Response:
    if request.endpoint == CHECK_ENDPOINT and error.status == 401:
        body: dict[str, object] = {"authenticated": False}
    elif error.code == "internal_error":
        body = {"error": _INTERNAL_MESSAGES.get(request.endpoint or "", error.message)}
    else:
        body = {"error": _MESSAGES.get(error.code, _message_of(error))}
    response = jsonify(body)
    response.status_code = error.status
    return response


def _message_of(error: AuthServiceError) -> str:
    for messages in error.details.values():
        if isinstance(messages, list) and messages:
            return str(messages[0])
    return error.message
