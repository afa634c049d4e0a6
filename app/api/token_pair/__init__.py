"""The token-pair API (specs/token-pair.md): /api/token/..., /api/users/me/."""

from flask import Blueprint

bp = Blueprint("token_pair", __name__, url_prefix="/api")

from app.api.token_pair import views  # noqa: E402, F401  (registers the routes on bp)
from app.api.token_pair.docs import OPERATIONS  # noqa: E402
from app.api.token_pair.errors import URL_PREFIXES  # noqa: E402
from app.api.token_pair.errors import render_error  # noqa: E402

__all__ = ["OPERATIONS", "URL_PREFIXES", "bp", "render_error"]
