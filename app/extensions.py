"""Unbound extensions, bound to an app in create_app with init_app."""

from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address
from flask_migrate import Migrate

from app.core.metrics import BUDGET_REFUSALS


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


def _count_breach(_limit: RequestLimit) -> None:
    """A team's decorator limit refused a request: counted as the budget "route"."""
    BUDGET_REFUSALS.labels("route").inc()


migrate = Migrate()
# flask-jwt-extended, wired to the core through its public loaders only
# (app/api/jwt_callbacks.py).
jwt = JWTManager()
# Client IPs are the socket peer, or the hop that TRUSTED_PROXIES allows ProxyFix to read.
limiter = DecoratorLimiter(key_func=get_remote_address, on_breach=_count_breach)
