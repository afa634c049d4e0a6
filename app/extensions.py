"""Unbound extensions, bound to an app in create_app with init_app."""

from collections.abc import Callable
from functools import partial
from typing import Any

from flask import Flask
from flask.globals import request_ctx
from flask_jwt_extended import JWTManager
from flask_limiter import Limiter
from flask_limiter import RequestLimit
from flask_limiter.util import get_remote_address

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

    def init_app(self, app: Flask) -> None:
        """As Flask-Limiter's, but its after-request and teardown hooks (rate-limit headers,
        conditional deductions, clearing its per-request state) run only on a request whose
        state a decorator limit made: on every other request they have nothing to do and
        cost about 5 us."""
        super().init_app(app)
        after = app.after_request_funcs.get(None, [])
        teardown = app.teardown_request_funcs.get(None, [])
        for hooks in (after, teardown):
            for index, hook in enumerate(hooks):
                if _belongs_to(hook, self):
                    hooks[index] = _when_limited(hook)


def _belongs_to(hook: Callable[..., Any], limiter: Limiter) -> bool:
    if isinstance(hook, partial):
        return hook.args == (limiter,)
    return getattr(hook, "__self__", None) is limiter


# Where Flask-Limiter keeps a request's state (flask_limiter/_extension.py, Limiter.context);
# tests/test_library_canaries.py holds the name.
LIMITER_STATE = "_limiter_request_context"


def _when_limited(hook: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def run_when_limited(value: Any) -> Any:
        if hasattr(request_ctx._get_current_object(), LIMITER_STATE):  # type: ignore[attr-defined]
            return hook(value)
        return value

    return run_when_limited


def _count_breach(_limit: RequestLimit) -> None:
    """A team's decorator limit refused a request: counted as the budget "route"."""
    BUDGET_REFUSALS.labels("route").inc()


# flask-jwt-extended, wired to the core through its public loaders only
# (app/api/jwt_callbacks.py).
jwt = JWTManager()
# Client IPs are the socket peer, or the hop that TRUSTED_PROXIES allows ProxyFix to read.
limiter = DecoratorLimiter(key_func=get_remote_address, on_breach=_count_breach)
