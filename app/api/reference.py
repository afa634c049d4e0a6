"""The API reference: the OpenAPI description and an offline Swagger UI page.

The page's assets come from the swagger-ui-bundle package, never from a CDN, so it works on a
machine without internet access.
"""

from typing import Any

from flask import Blueprint
from flask import Flask
from flask import Response
from flask import current_app
from flask import jsonify
from flask import send_from_directory
from swagger_ui_bundle import swagger_ui_path

from app.api.openapi import build_spec
from app.extensions import limiter

bp = Blueprint("reference", __name__)

_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>authsvc API reference</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/docs/reference.js"></script>
</body>
</html>
"""

_SCRIPT = """window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
  deepLinking: true, withCredentials: true});
"""


def openapi_document(app: Flask) -> dict[str, Any]:
    """The description of the dialects this app mounts, plus its health endpoints."""
    return build_spec(app, app.extensions["auth_operations"])


@bp.get("/openapi.json")
@limiter.exempt
def openapi_json() -> Response:
    """The OpenAPI 3 description of every mounted API."""
    return jsonify(openapi_document(current_app))


@bp.get("/docs")
@limiter.exempt
def docs_page() -> Response:
    """Swagger UI for /openapi.json, served entirely from this service."""
    return _asset_response(_PAGE, "text/html")


@bp.get("/docs/reference.js")
@limiter.exempt
def docs_script() -> Response:
    return _asset_response(_SCRIPT, "application/javascript")


@bp.get("/docs/assets/<path:filename>")
@limiter.exempt
def docs_asset(filename: str) -> Response:
    return send_from_directory(swagger_ui_path, filename, max_age=3600)


def _asset_response(body: str, mimetype: str) -> Response:
    response = Response(body, mimetype=mimetype)
    # Swagger UI's own script only; nothing from elsewhere (no CDN, no inline script); and
    # no other site may frame the page to trick clicks on its "Try it out" (clickjacking).
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'none'"
    )
    return response
