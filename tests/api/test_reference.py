"""The API reference: /openapi.json, the committed docs/openapi.json, and the /docs page."""

import json
import re
from pathlib import Path

import pytest
from openapi_spec_validator import validate

from app.api.reference import openapi_document
from app.database import db
from tests.conftest import make_app

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


# Pages for people, not API operations: the reference page, the example app, the consoles.
PAGE_BLUEPRINTS = ("reference", "examples", "pages", "admin_console", "account_console")


def _routes(app) -> set[tuple[str, str]]:
    return {
        (re.sub(r"<(?:[^:>]+:)?(\w+)>", r"{\1}", rule.rule), method)
        for rule in app.url_map.iter_rules()
        if rule.endpoint.split(".")[0] not in PAGE_BLUEPRINTS
        for method in rule.methods - {"HEAD", "OPTIONS"}
    }


def _documented(document) -> set[tuple[str, str]]:
    return {(path, method.upper()) for path, ops in document["paths"].items() for method in ops}


def test_openapi_json_is_a_valid_openapi_3_document(client):
    response = client.get("/openapi.json")

    assert response.status_code == 200
    validate(response.get_json())


def test_every_registered_route_is_documented_and_nothing_else(app, client):
    assert _documented(client.get("/openapi.json").get_json()) == _routes(app)


def test_every_documented_answer_has_a_body_schema_or_is_a_redirect_with_a_location(client):
    document = client.get("/openapi.json").get_json()

    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                shown = "Location" in response.get("headers", {})
                documented = shown if status.startswith("3") else "content" in response
                assert documented, f"{method.upper()} {path} {status}"


def test_security_schemes_cover_bearer_tokens_and_both_refresh_cookies(client):
    schemes = client.get("/openapi.json").get_json()["components"]["securitySchemes"]

    assert schemes["bearer"] == {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    assert schemes["blogRefreshCookie"]["in"] == schemes["cmgRefreshCookie"]["in"] == "cookie"


def test_the_committed_openapi_file_is_current(app):
    """Run `make openapi` after changing a route or schema."""
    with app.app_context():
        current = json.loads(json.dumps(openapi_document(app), sort_keys=True))

    assert json.loads(COMMITTED.read_text()) == current, "docs/openapi.json is stale: make openapi"


def test_flask_openapi_write_writes_the_document(app, runner, tmp_path):
    target = tmp_path / "openapi.json"

    result = runner.invoke(args=["openapi", "write", str(target)])

    assert result.exit_code == 0
    assert result.output == f"Wrote 78 paths to {target}.\n"
    validate(json.loads(target.read_text()))


def test_only_mounted_dialects_are_described(database_url, seed_rows):
    app = make_app(database_url, AUTH_DIALECTS=["staff"])
    try:
        document = app.test_client().get("/openapi.json").get_json()
    finally:
        with app.app_context():
            db.engine.dispose()

    assert sorted(document["paths"]) == [
        "/.well-known/apple-app-site-association", "/.well-known/assetlinks.json",
        "/.well-known/jwks.json", "/api/auth/change-password", "/api/auth/check",
        "/api/auth/login", "/api/auth/logout", "/healthz", "/readyz",
    ]  # fmt: skip


def test_the_docs_page_loads_only_local_assets(client):
    page = client.get("/docs")
    scripts = re.findall(r'(?:src|href)="([^"]+)"', page.get_data(as_text=True))

    assert page.status_code == 200
    assert page.mimetype == "text/html"
    assert scripts and all(url.startswith("/docs/") for url in scripts)
    assert "default-src 'self'" in page.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in page.headers["Content-Security-Policy"]
    for url in scripts:
        asset = client.get(url)
        body = asset.get_data()
        asset.close()
        assert asset.status_code == 200, url
        assert len(body) > 100, url


@pytest.mark.parametrize("path", ["/docs", "/openapi.json"])
def test_the_reference_can_be_turned_off(database_url, seed_rows, path):
    app = make_app(database_url, AUTH_DOCS_ENABLED=False)
    try:
        response = app.test_client().get(path)
    finally:
        with app.app_context():
            db.engine.dispose()

    assert response.status_code == 404
