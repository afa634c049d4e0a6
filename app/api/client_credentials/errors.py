"""The client-credentials error body: ``{"message": "..."}`` with the document's sentences."""

from flask import Response
from flask import jsonify

from app.core.errors import AuthServiceError

URL_PREFIXES = ("/auth",)

_MESSAGES = {
    "token_missing": "Authorization is not provided.",
    "token_expired": "Token expired. Please try again.",
    "token_invalid": "Authentication failed. Check your access token and try again.",
    "token_revoked": "Authentication failed. Check your access token and try again.",
}


def render_error(error: AuthServiceError) -> Response:
    body: dict[str, object] = {"message": _MESSAGES.get(error.code, error.message)}
    if error.details:
        body["errors"] = error.details
    response = jsonify(body)
    response.status_code = error.status
    return response
