"""The documented faces of the service: one blueprint per dialect."""

from types import ModuleType

from flask import Flask
from flask import Response
from flask_cors import CORS
from werkzeug.datastructures import Headers

from app.api import blog
from app.api import client_credentials
from app.api import cmg
from app.api import examples
from app.api import health
from app.api import jwks
from app.api import reference
from app.api import staff
from app.api import token_pair
from app.api.errors import add_renderer
from app.core.configuration import ConfigurationError

DIALECTS: dict[str, ModuleType] = {
    "blog": blog,
    "cmg": cmg,
    "client-credentials": client_credentials,
    "staff": staff,
    "token-pair": token_pair,
}


class UnknownDialectError(ConfigurationError):
    """AUTH_DIALECTS names a dialect the service does not have: startup stops in one line."""


def register_dialects(app: Flask) -> None:
    """Mount the dialects named in ``AUTH_DIALECTS`` (all of them when it is empty)."""
    names = app.config["AUTH_DIALECTS"] or list(DIALECTS)
    unknown = sorted(set(names) - set(DIALECTS))
    if unknown:
        raise UnknownDialectError(
            f"AUTH_DIALECTS names unknown dialects: {', '.join(unknown)} "
            f"(known: {', '.join(DIALECTS)})"
        )
    app.register_blueprint(health.bp)
    app.register_blueprint(jwks.bp)
    operations = [*health.OPERATIONS, *jwks.OPERATIONS]
    for name in names:
        dialect = DIALECTS[name]
        app.register_blueprint(dialect.bp)
        add_renderer(app, dialect.URL_PREFIXES, dialect.render_error)
        operations += dialect.OPERATIONS
    app.extensions["auth_operations"] = operations
    if app.config["AUTH_DOCS_ENABLED"]:
        app.register_blueprint(reference.bp)
    if app.config["AUTH_SERVE_EXAMPLES"]:
        app.register_blueprint(examples.bp)
    app.after_request(_protective_headers)
    if app.config["CORS_ORIGINS"]:
        # Exact origins only (checked at startup); credentials so the SPA can send cookies.
        CORS(app, origins=app.config["CORS_ORIGINS"], supports_credentials=True)


def _protective_headers(response: Response) -> Response:
    """Tokens and account data must not sit in shared or browser caches (RFC 6749 5.1), no
    response may be sniffed into another content type (OWASP ASVS 5 V3.4.4), and none may be
    framed by another page (V3.4.6; CSP frame-ancestors on the pages, this for old browsers)."""
    headers = response.headers
    # Looked up once: a missing name costs Headers an exception per lookup.
    present = {name.lower() for name, _ in headers}
    if "cache-control" not in present:
        _put(headers, present, "Cache-Control", "no-store")
        _put(headers, present, "Pragma", "no-cache")
    _put(headers, present, "X-Content-Type-Options", "nosniff")
    _put(headers, present, "X-Frame-Options", "DENY")
    return response


def _put(headers: Headers, present: set[str], name: str, value: str) -> None:
    """``headers[name] = value``, at half the cost where the header is not there yet."""
    if name.lower() in present:
        headers[name] = value
    else:
        headers.add(name, value)
