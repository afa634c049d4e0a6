"""The documented faces of the service: one blueprint per dialect."""

from types import ModuleType

from flask import Flask
from flask_cors import CORS

from app.api import app_links
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
    app.register_blueprint(app_links.bp)
    operations = [*health.OPERATIONS, *jwks.OPERATIONS, *app_links.OPERATIONS]
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
    if app.config["CORS_ORIGINS"]:
        # Exact origins only (checked at startup); credentials so the SPA can send cookies.
        CORS(app, origins=app.config["CORS_ORIGINS"], supports_credentials=True)
