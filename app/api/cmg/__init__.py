"""The CMG API (specs/cmg.md): /auth/login, /auth/refresh, /auth/me, /auth/logout."""

from flask import Blueprint

bp = Blueprint("cmg", __name__, url_prefix="/auth")

from app.api.cmg import views  # noqa: E402, F401  (registers the routes on bp)
from app.api.cmg.docs import OPERATIONS  # noqa: E402
from app.api.cmg.errors import URL_PREFIXES  # noqa: E402
from app.api.cmg.errors import render_error  # noqa: E402

__all__ = ["OPERATIONS", "URL_PREFIXES", "bp", "render_error"]
