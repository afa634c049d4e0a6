"""Unbound extensions, bound to an app in create_app with init_app."""

from typing import Any

from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate


class DecoratorLimiter(Limiter):
    """Flask-Limiter, which holds the rate-limit storage that the service's budgets draw
    from (app/core/attempts.py) and checks any limit a team declares with its decorators when
    the view is called. The extension's other pass, before every request, looks for default,
    application and blueprint limits, of which the service declares none
    (tests/security/test_refresh_limits.py holds that): it is skipped, for it cost about
    100 us on every request, /healthz included (docs/benchmarks.md)."""

    def _check_request_limit(
        self, callable_name: str | None = None, in_middleware: bool = True
    ) -> None:
        if not in_middleware:
            super()._check_request_limit(callable_name=callable_name, in_middleware=False)


class ServiceJWTManager(JWTManager):
    """flask-jwt-extended reading tokens with the service's own verifier, so that
    ``@jwt_required()`` accepts exactly the tokens the service's views accept
    (app/api/jwt_callbacks.py; tests/api/test_one_boundary.py holds the private method's
    shape). Its failures are the service's domain errors, rendered per dialect."""

    def _decode_jwt_from_config(
        self, encoded_token: str, csrf_value: str | None = None, allow_expired: bool = False
    ) -> dict[str, Any]:
        from app.core.tokens.verifier import token_verifier  # imports this module

        return token_verifier().decode(encoded_token, allow_expired=allow_expired)


migrate = Migrate()
jwt = ServiceJWTManager()
# Client IPs are the socket peer, or the hop that TRUSTED_PROXIES allows ProxyFix to read.
limiter = DecoratorLimiter(key_func=get_remote_address)
