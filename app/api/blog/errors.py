"""The blog error body: ``{"error": "<Code>", "message": "...", "details": {...}}``."""

from flask import Response
from flask import jsonify

from app.core.errors import AuthServiceError

URL_PREFIXES = ("/api/v1/",)

# The document answers bad credentials with a 400, not a 401.
_STATUS_OVERRIDES = {"invalid_credentials": 400}

_MESSAGES = {
    "invalid_credentials": "Invalid email or password",
    "token_missing": "Access token is missing",
    "token_invalid": "Invalid token",
    "token_expired": "Token has expired",
    "token_revoked": "Token has been revoked",
    "admin_registration_denied": "Admin registration denied",
}

_ERROR_NAMES = {
    400: "ValidationError",
    401: "AuthenticationError",
    403: "AuthorizationError",
    404: "NotFoundError",
    405: "MethodNotAllowedError",
    409: "ConflictError",
    413: "PayloadTooLargeError",
    415: "UnsupportedMediaTypeError",
    429: "RateLimitError",
    500: "InternalServerError",
    503: "ServiceUnavailableError",
}


# Errors whose name the document gives by what happened rather than by status.
_ERROR_NAMES_BY_CODE = {
    "mfa_required": "MfaRequiredError",
    "mfa_locked": "MfaLockedError",
    "reauthentication_required": "ReauthenticationRequiredError",
    "registration_rejected": "RegistrationRejectedError",
}


def render_error(error: AuthServiceError) -> Response:
    status = _STATUS_OVERRIDES.get(error.code, error.status)
    body = {
        "error": _ERROR_NAMES_BY_CODE.get(error.code) or _ERROR_NAMES.get(status, "Error"),
        "message": _MESSAGES.get(error.code, error.message),
        "details": error.details,
    }
    response = jsonify(body)
    response.status_code = status
    if status == 401:
        response.headers["WWW-Authenticate"] = 'Bearer realm="api"'
    return response
