"""Request-level errors, and the one place that turns any error into a response.

Each dialect registers a renderer for its URL prefixes; an error is answered by the renderer
of the longest prefix that the request path is (or lies under), so a routing 404 under
``/api/v1/`` looks like every other blog error.
"""

import math
import time
from collections.abc import Callable
from collections.abc import Iterable

from flask import Flask
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request
from flask_limiter import RateLimitExceeded
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed

from app.api.request_ids import current_request_id
from app.core import outages
from app.core.errors import AuthServiceError
from app.core.errors import InvalidInputError
from app.core.errors import PermissionDeniedError
from app.core.errors import TooManyAttemptsError
from app.extensions import limiter

Renderer = Callable[[AuthServiceError], Response]
_RENDERERS = "auth_error_renderers"
DATABASE_RETRY_AFTER_SECONDS = 5


class RouteNotFoundError(AuthServiceError):
    code = "route_not_found"
    message = "The requested URL was not found on this server."
    status = 404


class MethodNotAllowedError(AuthServiceError):
    code = "method_not_allowed"
    message = "The method is not allowed for the requested URL."
    status = 405


class PayloadTooLargeError(AuthServiceError):
    code = "payload_too_large"
    message = "The request body is too large."
    status = 413


class UnsupportedMediaTypeError(AuthServiceError):
    code = "unsupported_media_type"
    message = "The request body must be JSON (Content-Type: application/json)."
    status = 415


class MalformedRequestError(InvalidInputError):
    code = "malformed_request"
    message = "The request body is not valid JSON."


class CrossSiteRequestError(PermissionDeniedError):
    code = "cross_site_request"
    message = "Cross-site request refused."


class ServiceUnavailableError(AuthServiceError):
    code = "service_unavailable"
    message = "The service is temporarily unavailable. Try again shortly."
    status = 503


class InternalError(AuthServiceError):
    code = "internal_error"
    message = "Internal server error."
    status = 500


_HTTP_ERRORS: dict[int, type[AuthServiceError]] = {
    400: MalformedRequestError,
    404: RouteNotFoundError,
    405: MethodNotAllowedError,
    413: PayloadTooLargeError,
    415: UnsupportedMediaTypeError,
}


def add_renderer(app: Flask, prefixes: Iterable[str], renderer: Renderer) -> None:
    renderers = app.extensions.setdefault(_RENDERERS, [])
    renderers.extend((prefix, renderer) for prefix in prefixes)
    renderers.sort(key=lambda entry: len(entry[0]), reverse=True)


def render_error(error: AuthServiceError) -> Response:
    for prefix, renderer in current_app.extensions.get(_RENDERERS, []):
        if _under(request.path, prefix):
            return renderer(error)
    return _render_plain(error)


def _under(path: str, prefix: str) -> bool:
    """``/auth/`` covers the paths below it; ``/auth`` covers itself and those paths too."""
    if prefix.endswith("/"):
        return path.startswith(prefix)
    return path == prefix or path.startswith(prefix + "/")


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(AuthServiceError, _render_service_error)
    app.register_error_handler(HTTPException, _render_http_exception)
    app.register_error_handler(Exception, _render_unexpected)


def _render_service_error(error: AuthServiceError) -> Response:
    response = render_error(error)
    if isinstance(error, TooManyAttemptsError):
        # RFC 9110 10.2.3: the seconds until the budget lets a request in.
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def _render_http_exception(exception: HTTPException) -> Response:
    if isinstance(exception, RateLimitExceeded):
        return _render_rate_limited()
    error_class = _HTTP_ERRORS.get(exception.code or 500)
    if error_class is None:
        error = AuthServiceError(exception.description)
        error.code, error.status = f"http_{exception.code}", exception.code or 500
    else:
        error = error_class()
    response = render_error(error)
    if isinstance(exception, MethodNotAllowed) and exception.valid_methods:
        response.headers["Allow"] = ", ".join(exception.valid_methods)
    return response


def _render_rate_limited() -> Response:
    """A Flask-Limiter limit that a team declared on its own view, answered like a spent
    budget of the service's own."""
    breached = limiter.current_limit
    retry_after = max(1, math.ceil(breached.reset_at - time.time())) if breached else 60
    return _render_service_error(TooManyAttemptsError(retry_after=retry_after))


def _render_unexpected(exception: Exception) -> Response:
    outages.discard_failed_transaction()
    fields = {"method": request.method, "path": request.path}
    if outages.is_database_outage(exception):
        current_app.logger.warning(
            "Database unavailable", exc_info=exception, extra={"fields": fields}
        )
        response = with_request_id(render_error(ServiceUnavailableError()))
        response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
    current_app.logger.error("Unhandled error", exc_info=exception, extra={"fields": fields})
    return with_request_id(render_error(InternalError()))


def with_request_id(response: Response) -> Response:
    """A 5xx body names the request, so the failure can be found in the logs: in
    ``details.requestId`` where the face's errors carry details (the blog API), else as a
    ``requestId`` member beside the face's own fields."""
    body = response.get_json(silent=True)
    if isinstance(body, dict):
        details = body.get("details")
        (details if isinstance(details, dict) else body)["requestId"] = current_request_id()
        response.set_data(current_app.json.dumps(body))
    return response


def _render_plain(error: AuthServiceError) -> Response:
    body: dict[str, object] = {"error": error.code, "message": error.message}
    if "methods" in error.details:  # how a caller asked to reauthenticate can do it
        body["methods"] = error.details["methods"]
    response = jsonify(body)
    response.status_code = error.status
    return response
