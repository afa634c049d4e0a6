"""The staff API (specs/staff.md): /api/auth/login, /check, /logout, /change-password."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/api/auth")

from app.api.staff import views  # noqa: E402, F401  (registers the routes on bp)
from app.api.staff.docs import OPERATIONS  # noqa: E402
from app.api.staff.errors import URL_PREFIXES  # noqa: E402
from app.api.staff.errors import render_error  # noqa: E402

__all__ = ["OPERATIONS", "URL_PREFIXES", "bp", "render_error"]
