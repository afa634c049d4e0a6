"""The account pages in headless Chromium through gunicorn, as a person uses them: register,
follow the verification link from a real mail, turn on an authenticator app, add a passkey
(Chrome's virtual authenticator) after a step-up asked for in place, change the password,
sign out another device, reset a forgotten password from the mail, delete the account.

Every page passes axe-core (no serious or critical violation) under its strict CSP, and is
photographed at desktop and phone width into build/pages/. WebAuthn needs a secure context,
so the pages are on http://localhost, the relying party.
"""

import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import Route
from playwright.sync_api import expect

from tests.e2e import http
from tests.e2e.pages import DESKTOP
from tests.e2e.pages import Pages
from tests.mailbox import text_of
from tests.openid_provider import provider_for_service
from tests.totp_codes import codes_in_order

pytestmark = pytest.mark.e2e

PASSWORD = "an account Passphrase 5"
NEW_PASSWORD = "a changed Passphrase 6"
RESET_PASSWORD = "a reset Passphrase 8"


def _link_in(message, page: str) -> str:
    found = re.search(rf"(http://\S+/account/{page}\?token=\S+)", text_of(message))
    assert found, text_of(message)
    return found.group(1)


def _status(page, text: str) -> None:
    page.get_by_role("status").filter(has_text=text).wait_for()


def test_a_person_runs_their_account_from_the_account_pages(
    start_server, browser, axe_source, mailbox
):
    server = start_server(
        AUTH_FRONTEND_URL="http://localhost:{port}/account",
        MAIL_URL=mailbox.url,
        AUTH_REQUIRE_VERIFIED_EMAIL="false",
    )
    base = server.url.replace("127.0.0.1", "localhost")
    email = f"person-{uuid.uuid4().hex[:6]}@example.com"
    context = browser.new_context(viewport=DESKTOP)
    context.add_init_script(path=str(axe_source))
    pages = Pages(context.new_page(), base, prefix="account")
    page = pages.page
    devtools = context.new_cdp_session(page)
    devtools.send("WebAuthn.enable")
    devtools.send("WebAuthn.addVirtualAuthenticator", {"options": {
        "protocol": "ctap2", "transport": "internal", "hasResidentKey": True,
        "hasUserVerification": True, "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }})  # fmt: skip

    # Register by keyboard alone (the skip link, Tab, Enter), land signed in; the
    # verification mail's link proves the address.
    page.goto(f"{base}/account/register")
    pages.check("register")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "email"
    page.keyboard.type(email)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    _status(page, "We have mailed you a link to verify your address.")
    pages.check("home")
    page.goto(_link_in(mailbox.wait_for(email, "Verify your email address"), "verify-email"))
    _status(page, "Email verified")
    assert "token=" not in page.url
    pages.check("verify-email")
    page.goto(f"{base}/account/")
    page.get_by_text("(verified)").wait_for()

    # The profile waits for the account's own values (nothing typed before is overwritten),
    # then a change is saved.
    profile_reads: list[Route] = []
    page.route("**/api/v1/users/current", lambda route: profile_reads.append(route))
    page.reload()
    while not profile_reads:
        page.wait_for_timeout(20)
    expect(page.get_by_label("Display name")).to_be_disabled()
    profile_reads[0].continue_()
    page.unroute("**/api/v1/users/current")
    page.get_by_label("Display name").fill("Ada")
    page.get_by_role("button", name="Save profile").click()
    _status(page, "Profile saved.")
    page.reload()
    expect(page.get_by_label("Display name")).to_have_value("Ada")

    # An authenticator app: the QR code, a first code, the recovery codes shown once.
    page.get_by_role("button", name="Set up an authenticator app").click()
    page.get_by_role("img", name="QR code of your authenticator key").wait_for()
    codes = codes_in_order(page.locator("#totp-secret").inner_text())
    page.get_by_label("Code from the app").fill(next(codes))
    page.get_by_role("button", name="Turn on").click()
    page.get_by_role("heading", name="Your recovery codes").wait_for()
    assert len(page.locator("#recovery-codes li").all_inner_texts()) == 10
    page.get_by_role("button", name="I have saved them").click()
    assert page.locator("#recovery-codes li").count() == 0

    # A passkey, after the step-up the page asks for in place (the proof is made old).
    server.age_proofs(3600)
    page.get_by_role("button", name="Add a passkey").click()
    step_up = page.get_by_role("dialog", name="Confirm it is you")
    step_up.get_by_label("Code from your authenticator app").fill(next(codes))
    step_up.get_by_role("button", name="Confirm").click()
    _status(page, "Passkey added.")
    page.get_by_role("button", name="Remove This browser").wait_for()

    # Another device signs in (with its second step); this page signs it out.
    other = http.post(f"{server.url}/api/v1/auth/login",
                      json={"email": email, "password": PASSWORD})  # fmt: skip
    assert other.json()["error"] == "MfaRequiredError"
    other_token = http.post(f"{server.url}/api/v1/auth/mfa/verify",
                            json={"mfaToken": other.json()["details"]["mfaToken"],
                                  "code": next(codes)}).json()["accessToken"]  # fmt: skip
    page.reload()
    page.get_by_role("button", name=re.compile(r"^Sign out python-requests")).click()
    _status(page, "Signed out there.")
    me = http.get(f"{server.url}/api/v1/users/current",
                  headers={"Authorization": f"Bearer {other_token}"})  # fmt: skip
    assert me.status_code == 401

    # The password changed: the current one is the proof it takes.
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change password").click()
    _status(page, "Password changed.")

    # Forgotten anyway: the reset mail's link sets a new one, and the passkey signs in.
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url(re.compile("/account/login$"))
    pages.check("login")
    page.get_by_role("link", name="Forgot your password?").click()
    page.get_by_label("Email").fill(email)
    page.get_by_role("button", name="Send the link").click()
    _status(page, "a password reset link has been sent")
    pages.check("forgot-password")
    page.goto(_link_in(mailbox.wait_for(email, "Reset your password"), "reset-password"))
    page.get_by_label("New password").fill(RESET_PASSWORD)
    pages.check("reset-password")
    page.get_by_role("button", name="Set password").click()
    # Until the sign-in page's script runs, its form cannot be sent: Enter leaves the page
    # (and the password) where they are, and the button waits.
    scripts: list[Route] = []
    page.route("**/account/login.js", lambda route: scripts.append(route))
    page.get_by_role("link", name="Sign in with your new password").click()
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(RESET_PASSWORD)
    page.get_by_label("Password").press("Enter")
    while not scripts:
        page.wait_for_timeout(20)
    assert page.url == f"{base}/account/login"
    expect(page.get_by_role("button", name="Sign in", exact=True)).to_be_disabled()
    scripts[0].continue_()
    page.unroute("**/account/login.js")
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_role("button", name="Use a passkey instead").click()
    page.wait_for_url(re.compile("/account/$"))

    # The data, then the account, gone.
    with page.expect_download() as download:
        page.get_by_role("button", name="Download my data").click()
    assert email in Path(download.value.path()).read_text()
    page.get_by_role("button", name="Delete my account").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete account").click()
    _status(page, "Your account is deleted.")
    gone = http.post(f"{server.url}/api/v1/auth/login",
                     json={"email": email, "password": RESET_PASSWORD})  # fmt: skip
    assert gone.status_code == 400
    assert pages.csp_violations == []
    context.close()


def test_a_person_signs_in_with_an_openid_provider_from_the_account_page(start_server, browser):
    """The login page's "Sign in with test" link, the provider's own login and consent pages
    (panva's oidc-provider), and back to the account page, signed in."""
    email = f"provider-{uuid.uuid4().hex[:6]}@example.com"
    with provider_for_service("authsvc-account") as (_provider, settings):
        server = start_server(**settings, AUTH_FRONTEND_URL="http://127.0.0.1:{port}/account")
        page = browser.new_context().new_page()

        page.goto(f"{server.url}/account/login")
        page.get_by_role("link", name="Sign in with test").click()
        page.locator("input[name=login]").fill(email)
        page.locator("input[name=password]").fill("whatever the provider asks")
        page.locator("button[type=submit]").click()
        page.locator("button[type=submit]").click()  # the provider's consent page

        page.get_by_role("heading", name=f"Your account: {email}").wait_for()
        # The page lists its linked sign-ins once it has read them.
        page.get_by_role("button", name="Unlink test").wait_for()
