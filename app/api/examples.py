"""Serves examples/spa/ at /examples/spa/ (development only, AUTH_SERVE_EXAMPLES)."""

from pathlib import Path

from flask import Blueprint
from flask import Response
from flask import send_from_directory

SPA_DIR = Path(__file__).resolve().parents[2] / "examples" / "spa"

bp = Blueprint("examples", __name__, url_prefix="/examples/spa")


@bp.get("/")
def spa_index() -> Response:
    return _static("index.html")


@bp.get("/login")
def spa_login() -> Response:
    """Where an OpenID sign-in lands when it fails or waits for a second step
    (AUTH_FRONTEND_URL/login): the same page, which reads the error or the mfaToken."""
    return _static("index.html")


@bp.get("/<path:filename>")
def spa_file(filename: str) -> Response:
    return _static(filename)


def _static(filename: str) -> Response:
    response = send_from_directory(SPA_DIR, filename, max_age=0)
    # The page talks only to this service and runs only its own script.
    # data: images: the QR code of a TOTP enrolment, shown from the API's SVG as an <img>.
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"
    )
    return response
