"""Refusing cross-site requests to the cookie-borne endpoints.

The documents' browser clients send no CSRF header, so a request that carries the refresh
cookie is trusted only when it does not come from another site: its ``Origin`` must be this
service or one of ``CORS_ORIGINS``, or, with no ``Origin``, ``Sec-Fetch-Site`` must not say
cross-site. Requests with neither header (mobile apps, curl) pass. This is on top of the
cookie's ``SameSite=Strict`` (OWASP ASVS 5, V3.5: cross-site request forgery).
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


def same_site_only(view: Callable[P, R]) -> Callable[P, R]:
    @wraps(view)
    def guarded(*args: P.args, **kwargs: P.kwargs) -> R:
        if _is_cross_site():
            raise CrossSiteRequestError()
        return view(*args, **kwargs)

    return guarded


def _is_cross_site() -> bool:
    origin = request.headers.get("Origin")
    if origin is not None:
        return origin.rstrip("/") not in _allowed_origins()
    return request.headers.get("Sec-Fetch-Site", "").lower() == "cross-site"


def _allowed_origins() -> set[str]:
    own = request.host_url.rstrip("/")
    return {own, *(o.rstrip("/") for o in current_app.config["CORS_ORIGINS"])}
