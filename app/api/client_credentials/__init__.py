"""The client-credentials API (specs/client-credentials.md): POST /auth, GET /auth."""

from flask import Blueprint

bp = Blueprint("client_credentials", __name__)

from app.api.client_credentials import views  # noqa: E402, F401  (registers the routes on bp)
from app.api.client_credentials.docs import OPERATIONS  # noqa: E402
from app.api.client_credentials.errors import URL_PREFIXES  # noqa: E402
from app.api.client_credentials.errors import render_error  # noqa: E402

__all__ = ["OPERATIONS", "URL_PREFIXES", "bp", "render_error"]
