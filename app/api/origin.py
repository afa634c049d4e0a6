"""Refusing cross-site requests to the cookie-borne endpoints.

The documents' browser clients send no CSRF header, so a request that carries the refresh
cookie is trusted only when it does not come from another site. Fetch Metadata decides first,
since a page cannot forge it (W3C Fetch Metadata; OWASP CSRF Cheat Sheet):
``Sec-Fetch-Site: same-origin`` or ``none`` pass, even when a proxy in front rewrote ``Host``
(nginx's default ``proxy_set_header Host $proxy_host``, a dev server's ``changeOrigin``);
``same-site`` and ``cross-site`` pass only from an ``Origin`` in ``CORS_ORIGINS``. A browser
without Fetch Metadata is judged by its ``Origin``: this service's own host (``X-Forwarded-Host``
counts only under ``TRUSTED_PROXIES``, through ProxyFix) or one of ``CORS_ORIGINS``. Requests
with neither header (mobile apps, curl) pass. All this is on top of the cookie's
``SameSite=Strict`` (OWASP ASVS 5, V3.5: cross-site request forgery).
"""

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec
from typing import TypeVar

from flask import current_app
from flask import request

from app.api.errors import CrossSiteRequestError

P = ParamSpec("P")
R = TypeVar("R")

_SAME_ORIGIN = {"same-origin", "none"}


def same_site_only(view: Callable[P, R]) -> Callable[P, R]:
    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        if _is_cross_site():
            raise CrossSiteRequestError()
        return view(*args, **kwargs)

    return guarded


def _is_cross_site() -> bool:
    site = request.headers.get("Sec-Fetch-Site", "").strip().lower()
    origin = _origin()
    if site in _SAME_ORIGIN:
        return False
    if site:  # same-site, cross-site, or a value no browser sends
        return origin not in _cors_origins()
    if origin is None:
        return False
    return origin not in {request.host_url.rstrip("/"), *_cors_origins()}


def _origin() -> str | None:
    origin = request.headers.get("Origin")
    return None if origin is None else origin.rstrip("/")


def _cors_origins() -> set[str]:
    return {o.rstrip("/") for o in current_app.config["CORS_ORIGINS"]}
