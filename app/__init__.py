"""The auth service's application factory."""

import os
from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

from flask import Flask
from flask.json.provider import DefaultJSONProvider
from werkzeug.middleware.proxy_fix import ProxyFix

from app.api import register_dialects
from app.api.errors import register_error_handlers
from app.api.every_request import install_every_request
from app.api.jwt_callbacks import install_jwt_callbacks
from app.cli import register_cli
from app.core.attempts import install_attempt_budgets
from app.core.audit.writer import install_audit_writer
from app.core.direct_statements import prepare_direct_statements
from app.core.factors.app_associations import install_app_associations
from app.core.federation.providers import install_oidc_providers
from app.core.hooks.auth_hooks import install_auth_hooks
from app.core.hooks.delivery import install_webhooks
from app.core.mail.mail import install_mailer
from app.core.passwords.security import install_password_checks
from app.core.secret_box import install_secret_box
from app.core.tokens.keys import install_signing_keys
from app.core.tokens.minting import install_token_minter
from app.core.tokens.verifier import install_token_verifier
from app.database import MIGRATIONS
from app.database import db
from app.database import ping_idle_connections
from app.extensions import jwt
from app.extensions import limiter
from app.logs import configure_logging
from app.pages import register_pages
from app.startup import ConfigurationError
from app.startup import settle_config
from config import CONFIGS


class _JsonInDocumentOrder(DefaultJSONProvider):
    """Keys in the order the schemas declare them, as the API documents list them."""

    sort_keys = False


class AuthService(Flask):
    """Flask, with each hook's and view's sync wrapper looked up once: Flask asks
    ``ensure_sync`` for every hook of every request, and the answer (is it a coroutine
    function?) never changes for a function. About 10 calls a request, 1 us each."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._sync_callables: dict[Callable[..., Any], Callable[..., Any]] = {}

    def ensure_sync(self, func: Callable[..., Any]) -> Callable[..., Any]:
        try:
            return self._sync_callables[func]
        except KeyError:
            wrapped = self._sync_callables[func] = super().ensure_sync(func)
            return wrapped


def create_app(
    config_name: str | None = None,
    overrides: Mapping[str, Any] | None = None,
    *,
    migrations: bool = True,
) -> Flask:
    """Build the app for ``config_name`` (default: ``APP_ENV``, else production), with the
    ``flask db`` commands unless ``migrations`` is false: a process that only serves leaves
    Alembic unloaded (docs/decisions/0019-no-alembic-in-workers.md)."""
    name = config_name or os.environ.get("APP_ENV") or "production"
    if name not in CONFIGS:
        raise ConfigurationError(f"APP_ENV must be one of {', '.join(CONFIGS)}, not {name!r}")
    app = AuthService(__name__, instance_relative_config=True, static_folder=None)
    app.config.from_object(CONFIGS[name])
    app.config.update(overrides or {})
    app.json = _JsonInDocumentOrder(app)
    configure_logging(app)
    settle_config(app)

    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        # Flask's documented way to wrap its WSGI app, which mypy reads as replacing a method.
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    db.init_app(app)
    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(
                engine, after_seconds=app.config["DATABASE_PING_AFTER_IDLE_SECONDS"]
            )
        prepare_direct_statements(db.engines.values())
    if migrations:
        install_migrations(app)
    jwt.init_app(app)
    limiter.init_app(app)
    install_attempt_budgets(app)
    install_signing_keys(app)
    install_token_minter(app)
    install_token_verifier(app)
    install_audit_writer(app)
    install_mailer(app)
    install_webhooks(app)
    install_auth_hooks(app)
    install_secret_box(app)
    install_password_checks(app)
    install_oidc_providers(app)
    install_app_associations(app)
    register_error_handlers(app)
    install_jwt_callbacks()
    register_dialects(app)
    register_pages(app)
    install_every_request(app)
    register_cli(app)
    return app


def install_migrations(app: Flask) -> None:
    """Flask-Migrate: the ``flask db`` commands, and what migrations/env.py reads. Imported
    here, for the processes that migrate: Alembic adds about 11 MB to a process."""
    from flask_migrate import Migrate

    Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True)
