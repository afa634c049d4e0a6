"""The consoles' pages as served: a strict CSP on every one, no inline script or style, the
operator's theme from configuration, templates an operator can override."""

import re

import pytest

from app.core.configuration import ConfigurationError
from app.pages.account import PAGES as ACCOUNT_PAGES
from tests.conftest import make_app

PAGES = [
    "/admin/sign-in", "/admin/dashboard", "/admin/users", "/admin/users/7", "/admin/roles",
    "/admin/clients", "/admin/whitelist", "/admin/webhooks", "/admin/audit",
]  # fmt: skip
ASSETS = ["/pages/static/api.js", "/pages/static/pages.css", "/pages/theme.css"]


@pytest.fixture
def pages_app(tmp_path):
    return make_app(f"sqlite:///{tmp_path / 'pages.db'}")


@pytest.mark.parametrize("path", PAGES + ASSETS)
def test_every_page_and_asset_carries_the_strict_policy(pages_app, path):
    with pages_app.test_client().get(path) as response:
        assert response.status_code == 200
    policy = response.headers["Content-Security-Policy"]
    assert policy.startswith("default-src 'self'; script-src 'self'; style-src 'self'; ")
    assert "frame-ancestors 'none'" in policy
    assert "unsafe" not in policy
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"


@pytest.mark.parametrize("path", PAGES + ["/account/"] + [f"/account/{n}" for n in ACCOUNT_PAGES])
def test_the_browser_never_submits_a_pages_form_itself(pages_app, path):
    """A form sent before its page's script has run stays put, and its button waits for the
    script: sent by the browser, it was a GET to the page's own address with the password in
    the query string."""
    html = pages_app.test_client().get(path).get_data(as_text=True)

    forms = re.findall(r"<form\b[^>]*>", html)
    assert forms and all(' method="dialog"' in form for form in forms), forms
    outside_dialogs = re.sub(r"<dialog\b.*?</dialog>", "", html, flags=re.DOTALL)
    buttons = re.findall(r"<button\b[^>]*type=\"submit\"[^>]*>", outside_dialogs)
    assert all(" disabled" in button for button in buttons), buttons


@pytest.mark.parametrize("path", PAGES)
def test_a_page_has_no_inline_script_style_or_handler(pages_app, path):
    html = pages_app.test_client().get(path).get_data(as_text=True)

    scripts = re.findall(r"<script\b([^>]*)>([^<]*)</script>", html)
    assert scripts and all(" src=" in tag and not body.strip() for tag, body in scripts)
    assert re.search(r"\son[a-z]+=", html) is None
    assert re.search(r"<style\b|\sstyle=", html) is None
    assert '<html lang="en">' in html


def test_the_console_root_leads_to_the_dashboard(pages_app):
    response = pages_app.test_client().get("/admin/")

    assert response.status_code == 302
    assert response.headers["Location"] == "/admin/dashboard"


def test_the_operator_themes_the_pages_by_configuration(tmp_path):
    app = make_app(
        f"sqlite:///{tmp_path / 'themed.db'}",
        AUTH_PAGES_PRODUCT_NAME="Acme ID",
        AUTH_PAGES_LOGO_URL="https://cdn.example.com/acme.svg",
        AUTH_PAGES_PRIMARY_COLOR="#aa3300",
        AUTH_PAGES_TEXT_COLOR="#101010",
    )
    client = app.test_client()

    page = client.get("/admin/sign-in")
    css = client.get("/pages/theme.css").get_data(as_text=True)

    html = page.get_data(as_text=True)
    assert "<title>Sign in · Acme ID</title>" in html
    assert '<img src="https://cdn.example.com/acme.svg" alt="" class="logo">' in html
    assert (
        "img-src 'self' data: https://cdn.example.com;" in page.headers["Content-Security-Policy"]
    )
    assert "--primary: #aa3300;" in css and "--text: #101010;" in css


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("AUTH_PAGES_PRIMARY_COLOR", "red; background: url(x)"),
        ("AUTH_PAGES_TEXT_COLOR", "#12345"),
        ("AUTH_PAGES_LOGO_URL", "javascript:alert(1)"),
        ("AUTH_PAGES_LOGO_URL", "http://cdn.example.com/logo.png"),
        ("AUTH_PAGES_LOGO_URL", "//cdn.example.com/logo.png"),
    ],
)
def test_a_theme_setting_that_could_break_out_stops_startup(tmp_path, setting, value):
    with pytest.raises(ConfigurationError, match=setting):
        make_app(f"sqlite:///{tmp_path / 'bad.db'}", **{setting: value})


def test_an_operators_template_replaces_the_shipped_one(tmp_path):
    override = tmp_path / "templates" / "pages" / "admin"
    override.mkdir(parents=True)
    (override / "sign_in.html").write_text(
        '{% extends "pages/layout.html" %}{% set script = "admin/sign_in.js" %}'
        "{% block content %}<h1>Welcome to Acme</h1>{% endblock %}"
    )
    app = make_app(
        f"sqlite:///{tmp_path / 'override.db'}",
        AUTH_PAGES_TEMPLATES_DIR=str(tmp_path / "templates"),
    )
    client = app.test_client()

    assert "<h1>Welcome to Acme</h1>" in client.get("/admin/sign-in").get_data(as_text=True)
    assert "<h1>Users</h1>" in client.get("/admin/users").get_data(as_text=True)


@pytest.mark.parametrize(
    "settings", [{"AUTH_PAGES_ENABLED": False}, {"AUTH_DIALECTS": ["cmg", "staff"]}]
)
def test_no_console_without_the_blog_api_or_when_switched_off(tmp_path, settings):
    app = make_app(f"sqlite:///{tmp_path / 'off.db'}", **settings)

    response = app.test_client().get("/admin/sign-in")

    assert response.status_code == 404
    assert response.is_json


ACCOUNT_PAGES = [
    "/account/", "/account/login", "/account/register", "/account/forgot-password",
    "/account/reset-password", "/account/verify-email", "/account/confirm-email-change",
]  # fmt: skip


@pytest.mark.parametrize("path", ACCOUNT_PAGES)
def test_every_account_page_is_strict_and_has_no_inline_script(pages_app, path):
    response = pages_app.test_client().get(path)

    assert response.status_code == 200
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["Referrer-Policy"] == "no-referrer"
    html = response.get_data(as_text=True)
    assert re.search(r"\son[a-z]+=|<style\b|\sstyle=", html) is None
    assert all(" src=" in tag for tag, _ in re.findall(r"<script\b([^>]*)>([^<]*)</script>", html))


def test_the_mailed_links_of_development_lead_to_the_account_pages():
    from config import DevelopmentConfig

    assert DevelopmentConfig.AUTH_FRONTEND_URL.endswith("/account")
