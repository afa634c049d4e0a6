"""The flagship blog API (specs/blog.md), mounted under /api/v1."""

from flask import Blueprint

bp = Blueprint("blog", __name__, url_prefix="/api/v1")

from app.api.blog import account_views  # noqa: E402, F401  (registers routes on bp)
from app.api.blog import admin_views  # noqa: E402, F401  (registers routes on bp)
from app.api.blog import oidc_views  # noqa: E402, F401  (registers routes on bp)
from app.api.blog import passkey_views  # noqa: E402, F401  (registers routes on bp)
from app.api.blog import second_factor_views  # noqa: E402, F401  (registers routes on bp)
from app.api.blog import views  # noqa: E402, F401  (registers the routes on bp)
from app.api.blog import webhook_views  # noqa: E402, F401  (registers routes on bp)
from app.api.blog.docs import OPERATIONS  # noqa: E402
from app.api.blog.errors import URL_PREFIXES  # noqa: E402
from app.api.blog.errors import render_error  # noqa: E402

__all__ = ["OPERATIONS", "URL_PREFIXES", "bp", "render_error"]
