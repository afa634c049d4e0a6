"""The admin console in headless Chromium through gunicorn, driven as a person would: by
label and role. Every page is checked with axe-core (no serious or critical violation) and
runs under its strict Content-Security-Policy without a single violation; screenshots of each
page at desktop and phone width go to build/pages/.

Needs Debian's chromium and axe-core (npm ci --prefix tests/pages, which make test runs).
"""

import re
import uuid
from pathlib import Path

import pytest
import requests
from playwright.sync_api import Route
from playwright.sync_api import expect

from tests.e2e import http
from tests.e2e.http import call
from tests.e2e.http import enable_totp
from tests.e2e.pages import DESKTOP
from tests.e2e.pages import Pages
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e

PASSWORD = "a console Passphrase 7"


def _sign_in_api(server_url: str, email: str) -> requests.Response:
    return http.post(f"{server_url}/api/v1/auth/login",
                     json={"email": email, "password": PASSWORD})  # fmt: skip


def test_an_admin_with_a_second_factor_manages_a_user_in_the_console(
    start_server, browser, axe_source
):
    server = start_server(AUTH_ADMIN_REQUIRES_MFA="true", AUTH_WEBHOOK_ALLOW_PRIVATE="true")
    receiver = Receiver().start()
    api = f"{server.url}/api/v1/auth"
    tag = uuid.uuid4().hex[:6]
    admin_email, user_email = f"boss-{tag}@example.com", f"ada.lovelace-{tag}@example.com"
    server.create_user(f"boss{tag}", password=PASSWORD, email=admin_email,
                       roles=("user", "admin"))  # fmt: skip
    server.create_user(f"ada{tag}", password=PASSWORD, email=user_email)
    admin_token = call("post", f"{api}/login", {"email": admin_email, "password": PASSWORD}
                       )["accessToken"]  # fmt: skip
    _, admin_codes = enable_totp(api, admin_token, PASSWORD)
    user_token = call("post", f"{api}/login", {"email": user_email, "password": PASSWORD}
                      )["accessToken"]  # fmt: skip
    enable_totp(api, user_token, PASSWORD)

    context = browser.new_context(viewport=DESKTOP)
    context.add_init_script(path=str(axe_source))  # injected by the browser, not the page
    pages = Pages(context.new_page(), server.url)
    page = pages.page

    # Signing in: the password, then the second step; the console then lists the users.
    page.goto(f"{server.url}/admin/")
    page.wait_for_url(re.compile(r"/admin/sign-in\?next="))
    pages.check("sign-in")
    page.get_by_label("Email").fill(admin_email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in", exact=True).click()
    page.get_by_label("Code from your authenticator app").fill(next(admin_codes))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(re.compile(r"/admin/dashboard$"))
    page.get_by_role("img", name=re.compile(r"^Per hour: \d+ sign-ins")).wait_for()
    pages.check("dashboard")

    # A webhook endpoint for every event, its secret shown once.
    page.get_by_role("link", name="Webhooks").click()
    page.get_by_label("Endpoint URL").fill(receiver.url)
    page.get_by_label("Every event").check()
    page.get_by_role("button", name="Add endpoint").click()
    page.get_by_role("heading", name="Copy the signing secret now").wait_for()
    webhook_secret = page.locator("#secret-value").inner_text()
    page.get_by_role("button", name="I have copied it").click()
    pages.check("webhooks")
    page.get_by_role("link", name="Users", exact=True).click()

    # Finding the user by part of the email.
    page.get_by_label("Search users").fill(f"lovelace-{tag}")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("status").filter(has_text="1 user found.").wait_for()
    pages.check("users")
    page.get_by_role("link", name=user_email).click()
    page.get_by_role("heading", name=user_email).wait_for()
    page.get_by_role("cell", name=re.compile(r"^python-requests")).wait_for()
    pages.check("user")

    # Deactivated: the user's API login fails; reactivated, it works again.
    pages.confirm("Deactivate", "User deactivated.")
    assert _sign_in_api(server.url, user_email).status_code == 400
    assert _status_of_token(server.url, user_token) == 401
    pages.confirm("Reactivate", "User reactivated.")
    relogin = _sign_in_api(server.url, user_email)
    assert relogin.status_code == 403  # the user's own second factor is asked for
    assert relogin.json()["error"] == "MfaRequiredError"

    # The second factor reset: the password alone signs in, and that session is ended next.
    pages.confirm("Reset second factor", "Second factor reset.")
    signed_in = _sign_in_api(server.url, user_email)
    assert signed_in.status_code == 200
    fresh_token = signed_in.json()["accessToken"]
    page.reload()
    page.get_by_role("heading", name=user_email).wait_for()
    pages.confirm("End all sessions", "Every session ended.")
    assert _status_of_token(server.url, fresh_token) == 401

    # A role made in the console and assigned: it is the user's at once.
    page.get_by_role("link", name="Roles").click()
    page.get_by_label("Role name").fill("auditor")
    page.get_by_label("Permissions", exact=True).fill("reports:read, reports:export")
    page.get_by_role("button", name="Create role").click()
    page.get_by_role("status").filter(has_text="Role auditor created.").wait_for()
    pages.check("roles")
    # While the user is still loading, the role choices wait: a box checked meanwhile would
    # be unchecked by the user's roles arriving, and the save would drop it.
    user_reads: list[Route] = []
    page.route(re.compile(r"/api/v1/users/\d+$"), lambda route: user_reads.append(route))
    page.go_back()
    auditor = page.get_by_role("checkbox", name="auditor")
    auditor.wait_for()
    expect(auditor).to_be_disabled()
    user_reads[0].continue_()
    page.unroute(re.compile(r"/api/v1/users/\d+$"))
    auditor.check()
    pages.confirm("End all sessions", "Every session ended.")  # reloads the user, not the choice
    expect(auditor).to_be_checked()
    page.get_by_role("button", name="Save roles").click()
    page.get_by_role("dialog").get_by_role("button", name="Save roles").click()
    page.get_by_role("status").filter(has_text="Roles saved.").wait_for()
    admin_token = _admin_token_of(page)
    holders = call("get", f"{server.url}/api/v1/users?role=auditor", token=admin_token)
    assert [user["email"] for user in holders["users"]] == [user_email]

    # An API client: created with its key shown once, working, then revoked.
    page.get_by_role("link", name="API clients").click()
    page.get_by_label("Client name").fill(f"billing {tag}")
    page.get_by_role("button", name="Create client").click()
    page.get_by_role("heading", name="Copy the key now").wait_for()
    client_id = page.locator("#new-client-id").inner_text()
    client_key = page.locator("#new-client-key").inner_text()
    credentials = {"clientId": client_id, "clientKey": client_key}
    assert http.post(f"{server.url}/auth", json=credentials).status_code == 200
    page.get_by_role("button", name="I have copied it").click()
    pages.check("clients")
    page.get_by_role("button", name=f"Revoke billing {tag}").click()
    page.get_by_role("dialog").get_by_role("button", name="Revoke client").click()
    page.get_by_role("status").filter(has_text=f"billing {tag} revoked.").wait_for()
    assert http.post(f"{server.url}/auth", json=credentials).status_code == 401

    # Mails sent from the user's page, and the admin whitelist.
    page.goto(f"{server.url}/admin/users/{holders['users'][0]['_id']}")
    pages.confirm("Send password reset", "Password reset mail queued.")
    page.get_by_role("link", name="Admin whitelist").click()
    page.get_by_label("Email address").fill(f"next-boss-{tag}@example.com")
    page.get_by_role("button", name="Add to whitelist").click()
    page.get_by_role("cell", name=f"next-boss-{tag}@example.com", exact=True).wait_for()
    pages.check("whitelist")
    page.get_by_role("button", name=f"Remove next-boss-{tag}@example.com").click()
    page.get_by_role("dialog").get_by_role("button", name="Remove").click()
    page.get_by_role("status").filter(has_text="removed.").wait_for()

    # The endpoint's deliveries: the user's changes went out, signed.
    page.get_by_role("link", name="Webhooks").click()
    receiver.wait_for("user.updated", count=2, timeout=30)
    page.get_by_role("button", name=f"Deliveries of {receiver.url}").click()
    page.get_by_role("heading", name=f"Deliveries to {receiver.url}").wait_for()
    delivered = page.locator("#deliveries tbody tr td:nth-child(1)").all_inner_texts()
    assert "user.updated" in delivered
    for item in receiver.of_type("user.updated"):
        assert item.verified_with(webhook_secret)["type"] == "user.updated"
    page.get_by_role("button", name=f"Delete {receiver.url}").click()
    page.get_by_role("dialog").get_by_role("button", name="Delete endpoint").click()
    page.get_by_role("status").filter(has_text="Endpoint deleted.").wait_for()
    receiver.stop()

    # The audit log filtered to the user, and its CSV export.
    user_id = holders["users"][0]["_id"]
    page.goto(f"{server.url}/admin/users/{user_id}")
    page.get_by_role("link", name="This user in the audit log").click()
    page.get_by_role("cell", name="sessions_ended").first.wait_for()
    page.get_by_label("Event").select_option("user_updated")
    page.get_by_role("button", name="Show events").click()
    page.wait_for_function(
        "() => { const cells = [...document.querySelectorAll('#events tbody td:nth-child(2)')];"
        " return cells.length > 0 && cells.every(c => c.textContent === 'user_updated'); }"
    )
    shown = page.locator("#events tbody tr td:nth-child(2)").all_inner_texts()
    assert shown and set(shown) == {"user_updated"}
    pages.check("audit")
    with page.expect_download() as download:
        page.get_by_role("button", name="Export CSV").click()
    exported = Path(download.value.path()).read_text().splitlines()
    assert exported[0].startswith("id,time,event,outcome,userId,targetUserId")
    assert len(exported) == len(shown) + 1
    assert all(",user_updated,success," in line for line in exported[1:])

    assert pages.csp_violations == []
    context.close()


def _status_of_token(server_url: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    return http.get(f"{server_url}/api/v1/users/current", headers=headers).status_code


def _admin_token_of(page) -> str:
    """An access token of the console's own session, from its refresh cookie."""
    return page.evaluate(
        "async () => (await (await fetch('/api/v1/auth/refresh-token', {method: 'POST'}))"
        ".json()).accessToken"
    )
