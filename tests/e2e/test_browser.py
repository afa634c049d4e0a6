"""The cookie flow in a real browser: headless Chromium drives examples/spa/ against gunicorn.

Needs Debian's chromium (/usr/bin/chromium); .ci/run installs it and sets REQUIRE_BROWSER=1,
so in CI a missing browser fails the run instead of skipping. Screenshots of each step are
kept under build/browser/.
"""

import contextlib
import http.client
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from urllib.parse import urlsplit

import pytest

from tests.e2e.spa import register_in_spa
from tests.e2e.spa import register_reload_and_log_out
from tests.openid_provider import provider_for_service
from tests.processes import ROOT
from tests.totp_codes import codes_in_order

pytestmark = pytest.mark.e2e

SHOTS = ROOT / "build" / "browser"
EMAIL, PASSWORD = "browser@example.com", "a browser Passphrase 9"
ACCESS_SECONDS = 2


@contextlib.contextmanager
def _serving(handler: type[BaseHTTPRequestHandler]) -> Iterator[int]:
    """A small HTTP server of the test's own on loopback; its port."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def attacker_origin(start_server):
    """A page on another origin that tries to refresh with the victim's cookie."""
    holder: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            page = (
                "<script>fetch('" + holder["target"] + "/api/v1/auth/refresh-token', "
                "{method: 'POST', credentials: 'include'}).then(r => document.title = r.status)"
                ".catch(() => document.title = 'blocked');</script>"
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(page)

        def log_message(self, *_args: object) -> None:
            pass

    with _serving(Handler) as port:
        yield holder, f"http://localhost:{port}/"


def test_the_cookie_flow_in_a_real_browser(start_server, browser, attacker_origin):
    server = start_server(AUTH_SERVE_EXAMPLES="true",
                          AUTH_BLOG_ACCESS_TOKEN_SECONDS=str(ACCESS_SECONDS))  # fmt: skip
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context()
    page = context.new_page()
    status = page.locator("#status")

    register_in_spa(page, f"{server.url}/examples/spa/", EMAIL, PASSWORD)
    page.screenshot(path=SHOTS / "1-registered.png")

    [cookie] = [c for c in context.cookies() if c["name"] == "refreshToken"]
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/api/v1/auth"
    assert "refreshToken" not in page.evaluate("document.cookie")

    with page.expect_response("**/api/v1/auth/refresh-token") as reloaded:
        page.reload()
    status.filter(has_text=f"Logged in as {EMAIL}").wait_for()
    assert reloaded.value.status == 200
    page.screenshot(path=SHOTS / "2-reloaded.png")

    page.wait_for_timeout((ACCESS_SECONDS + 1) * 1000)  # let the access token expire
    with page.expect_response("**/api/v1/auth/refresh-token") as renewed:
        page.click("#reload-profile")
    status.filter(has_text=f"Logged in as {EMAIL}").wait_for()
    assert renewed.value.status == 200
    page.screenshot(path=SHOTS / "3-renewed-after-expiry.png")

    holder, attacker_url = attacker_origin
    holder["target"] = server.url
    before = [c["value"] for c in context.cookies() if c["name"] == "refreshToken"]
    attacker = context.new_page()
    attacker.goto(attacker_url)
    attacker.wait_for_function("document.title !== ''")
    after = [c["value"] for c in context.cookies() if c["name"] == "refreshToken"]
    assert attacker.title() in ("403", "blocked")
    assert before == after
    attacker.screenshot(path=SHOTS / "4-other-origin-refused.png")

    page.click("#logout")
    status.filter(has_text="Logged out").wait_for()
    page.reload()
    status.filter(has_text="Logged out").wait_for()
    page.screenshot(path=SHOTS / "5-logged-out-after-reload.png")
    context.close()


def test_two_step_sign_in_with_an_authenticator_app_in_a_real_browser(start_server, browser):
    """The example SPA turns TOTP on (the QR code shown from qrSvg, the key beside it), and the
    next login asks for the second step; the codes are an authenticator's, made at real time
    steps from the key the page shows."""
    server = start_server(AUTH_SERVE_EXAMPLES="true")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_context().new_page()
    status = page.locator("#status")
    email = "two-step@example.com"

    register_in_spa(page, f"{server.url}/examples/spa/", email, PASSWORD)
    page.fill("#totp-password", PASSWORD)
    page.click("#totp-begin")
    page.locator("#totp-confirm").wait_for()
    qr_loaded = page.evaluate(
        "(img => img.decode().then(() => img.naturalWidth))(document.getElementById('totp-qr'))"
    )
    codes = codes_in_order(page.locator("#totp-secret").inner_text())
    page.screenshot(path=SHOTS / "8-totp-qr-code.png")
    page.fill("#totp-code", next(codes))
    page.click("#totp-confirm-submit")
    page.locator("#recovery-codes li").first.wait_for()
    recovery = page.locator("#recovery-codes li").all_inner_texts()
    page.screenshot(path=SHOTS / "9-totp-on-recovery-codes.png")

    page.click("#logout")
    status.filter(has_text="Logged out").wait_for()
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    with page.expect_response("**/api/v1/auth/login") as held:
        page.click("#login")
    page.locator("#second-step").wait_for()
    page.screenshot(path=SHOTS / "10-second-step.png")
    page.fill("#second-step-code", next(codes))
    page.click("#second-step-submit")
    status.filter(has_text=f"Logged in as {email}").wait_for()
    page.reload()
    status.filter(has_text=f"Logged in as {email}").wait_for()
    page.screenshot(path=SHOTS / "11-signed-in-with-two-steps.png")

    assert qr_loaded > 0
    assert len(recovery) == 10
    assert held.value.status == 403
    assert "set-cookie" not in held.value.headers


def test_passkeys_in_a_real_browser_with_a_virtual_authenticator(start_server, browser):
    """Chrome's virtual authenticator (the DevTools protocol's WebAuthn domain) stands in for
    a platform authenticator: the SPA adds a passkey, signs in with it alone (a discoverable
    credential, no email), then uses it as the second step of a password login. WebAuthn
    needs a secure context, so the page is on http://localhost, the relying party."""
    server = start_server(AUTH_SERVE_EXAMPLES="true", AUTH_FRONTEND_URL="http://localhost:{port}")
    page_url = server.url.replace("127.0.0.1", "localhost") + "/examples/spa/"
    SHOTS.mkdir(parents=True, exist_ok=True)
    context = browser.new_context()
    page = context.new_page()
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    authenticator = devtools.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }})  # fmt: skip
    status = page.locator("#status")
    email = "passkey@example.com"

    register_in_spa(page, page_url, email, PASSWORD)
    page.click("#passkey-add")
    page.locator("#passkey-status").filter(has_text="Passkey added").wait_for()
    page.screenshot(path=SHOTS / "12-passkey-added.png")

    page.click("#logout")
    status.filter(has_text="Logged out").wait_for()
    page.fill("#email", "")
    with page.expect_response("**/api/v1/auth/passkeys/login") as passwordless:
        page.click("#passkey-login")
    status.filter(has_text=f"Logged in as {email}").wait_for()
    page.screenshot(path=SHOTS / "13-signed-in-with-the-passkey-alone.png")

    page.click("#logout")
    status.filter(has_text="Logged out").wait_for()
    page.fill("#email", email)
    page.fill("#password", PASSWORD)
    page.click("#login")
    page.locator("#second-step-passkey").wait_for()
    page.screenshot(path=SHOTS / "14-second-step-offers-the-passkey.png")
    with page.expect_response("**/api/v1/auth/mfa/verify") as second_step:
        page.click("#second-step-passkey")
    status.filter(has_text=f"Logged in as {email}").wait_for()
    page.screenshot(path=SHOTS / "15-signed-in-with-password-and-passkey.png")

    held = devtools.send("WebAuthn.getCredentials", authenticator)["credentials"]
    assert passwordless.value.status == 200
    assert second_step.value.status == 200
    assert [(c["isResidentCredential"], c["rpId"]) for c in held] == [(True, "localhost")]
    assert held[0]["signCount"] >= 2
    context.close()


@pytest.fixture
def host_rewriting_proxy():
    """A reverse proxy as nginx's default ``proxy_set_header Host $proxy_host`` (or a dev
    server's ``changeOrigin``) makes one: the browser sees the proxy's origin, the service
    sees the upstream's Host."""
    holder: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _forward(self) -> None:
            upstream = urlsplit(holder["upstream"])
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            headers["Host"] = upstream.netloc
            connection = http.client.HTTPConnection(upstream.hostname, upstream.port, timeout=30)
            connection.request(self.command, self.path, body=body or None, headers=headers)
            answer = connection.getresponse()
            payload = answer.read()
            self.send_response(answer.status)
            for name, value in answer.getheaders():
                if name.lower() not in ("transfer-encoding", "connection", "content-length"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)
            connection.close()

        do_GET = do_POST = do_DELETE = do_PATCH = _forward

        def log_message(self, *_args: object) -> None:
            pass

    with _serving(Handler) as port:
        yield holder, f"http://localhost:{port}"


def test_the_spa_behind_a_host_rewriting_proxy_logs_in_refreshes_and_logs_out(
    start_server, browser, host_rewriting_proxy
):
    """Page and API share one origin through the proxy, so Origin is not the Host the
    service sees; the browser's Sec-Fetch-Site: same-origin decides."""
    server = start_server(AUTH_SERVE_EXAMPLES="true")
    holder, proxy_url = host_rewriting_proxy
    holder["upstream"] = server.url
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_context().new_page()

    spa = register_reload_and_log_out(
        page, f"{proxy_url}/examples/spa/", EMAIL, PASSWORD, reload_after_logout=True,
        signed_in_again=lambda: page.screenshot(path=SHOTS / "7-behind-proxy-refreshed.png"),
    )  # fmt: skip

    assert spa.logout_status == 200
    assert spa.refreshes[:2] == [400, 200]  # the first visit has no cookie; the reload refreshes
    assert spa.refreshes[-1] == 400  # after logout, the reload finds no cookie


def test_the_docs_page_renders_every_operation_offline(start_server, browser):
    """Swagger UI's assets come from this service; nothing is fetched from elsewhere."""
    server = start_server()
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = browser.new_context().new_page()
    foreign: list[str] = []
    page.on("request", lambda request: None if request.url.startswith(server.url)
            else foreign.append(request.url))  # fmt: skip

    page.goto(f"{server.url}/docs")
    page.locator(".opblock").first.wait_for()
    operations = page.locator(".opblock").count()
    page.screenshot(path=SHOTS / "6-docs.png", full_page=True)

    assert operations == _documented_operations()
    assert [url for url in foreign if not url.startswith("data:")] == []


def _documented_operations() -> int:
    spec = json.loads((ROOT / "docs" / "openapi.json").read_text())
    return sum(len(methods) for methods in spec["paths"].values())


def test_a_new_user_signs_in_with_an_openid_provider_from_the_spa(start_server, browser):
    """The SPA's "Sign in with test" button, the provider's own login and consent pages
    (panva's oidc-provider), and back: the new user lands on the SPA, logged in."""
    email = "from-the-provider@example.com"
    SHOTS.mkdir(parents=True, exist_ok=True)
    with provider_for_service("authsvc-web") as (_provider, settings):
        server = start_server(
            **settings,
            AUTH_SERVE_EXAMPLES="true",
            AUTH_FRONTEND_URL="http://127.0.0.1:{port}/examples/spa",
        )
        page = browser.new_context().new_page()
        status = page.locator("#status")

        page.goto(f"{server.url}/examples/spa/")
        status.filter(has_text="Logged out").wait_for()
        page.click("#oidc-test")
        page.locator("input[name=login]").fill(email)
        page.locator("input[name=password]").fill("whatever the provider asks")
        page.screenshot(path=SHOTS / "14-provider-login.png")
        page.locator("button[type=submit]").click()
        page.locator("button[type=submit]").click()  # the provider's consent page
        status.filter(has_text=f"Logged in as {email}").wait_for()
        page.screenshot(path=SHOTS / "15-signed-in-with-the-provider.png")
        landed = page.url
        page.reload()
        status.filter(has_text=f"Logged in as {email}").wait_for()

    assert landed == f"{server.url}/examples/spa/"


DOCUMENT_CLIENT = (ROOT / "tests" / "e2e" / "clients" / "blog_document_client.js").read_text()


def test_the_blog_documents_own_client_runs_unchanged_in_a_real_browser(start_server, browser):
    """The document's BlogAPIAuth class, verbatim, in Chromium on the service's origin: it
    registers, calls with its bearer token, refreshes through the cookie on a 401, and logs
    out. The refresh token never reaches the page (issue 35 left the cookie flow as it was)."""
    server = start_server(AUTH_SERVE_EXAMPLES="true")
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{server.url}/examples/spa/")

    outcome = page.evaluate(
        "async ([email, password]) => {"
        + DOCUMENT_CLIENT
        + """
        const auth = new BlogAPIAuth(`${location.origin}/api/v1`);
        const registered = await auth.register(email, password);
        const current = `${auth.baseURL}/users/current`;
        const first = await auth.makeAuthenticatedRequest(current);
        auth.accessToken = "an.expired.token";
        const second = await auth.makeAuthenticatedRequest(current);
        const renewed = auth.accessToken !== "an.expired.token";
        await auth.logout();
        return {
          fields: Object.keys(registered), first: first.status, second: second.status,
          email: (await second.json()).email, renewed, visible: document.cookie,
          afterLogout: await auth.refreshToken(),
        };
        }""",
        ["document-client@example.com", PASSWORD],
    )

    assert outcome == {
        "fields": ["accessToken", "user"], "first": 200, "second": 200,
        "email": "document-client@example.com", "renewed": True, "visible": "",
        "afterLogout": None,
    }  # fmt: skip
    assert not [c for c in context.cookies() if c["name"] == "refreshToken"]
    context.close()
