"""The account lifecycle through gunicorn, with the mail sent from the workers' background
threads to a real SMTP server: register -> mail -> verify; forgot -> mail -> reset -> every
old session dead; sessions listed and ended."""

import pytest

from tests.e2e import http
from tests.mailbox import text_of
from tests.mailbox import token_in

pytestmark = pytest.mark.e2e
PASSWORD = "lifecycle Passphrase 31"
NEW_PASSWORD = "renewed Passphrase 62"
EMAIL = "reader@example.com"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_register_verify_forgot_reset_and_sessions_through_gunicorn(start_server, mailbox):
    server = start_server(MAIL_URL=mailbox.url, AUTH_FRONTEND_URL="https://app.example")
    api = f"{server.url}/api/v1"

    registered = http.post(f"{api}/auth/register", json={"email": EMAIL, "password": PASSWORD})
    verify_mail = mailbox.wait_for(EMAIL, "Verify your email address")
    # The registrant's app sends its session along: the account's ways in stay.
    verified = http.post(f"{api}/auth/verify-email", json={"token": token_in(verify_mail)},
                         headers=_bearer(registered.json()["accessToken"]))  # fmt: skip

    assert registered.status_code == 201
    assert "https://app.example/verify-email?token=" in text_of(verify_mail)
    assert verified.json()["user"]["emailVerified"] is True

    first = registered.json()["accessToken"]
    second = http.post(f"{api}/auth/login", json={"email": EMAIL, "password": PASSWORD})
    listed = http.get(f"{api}/auth/sessions", headers=_bearer(first)).json()["sessions"]
    assert len(listed) == 2
    assert [s["current"] for s in listed].count(True) == 1

    forgot = http.post(f"{api}/auth/forgot-password", json={"email": EMAIL})
    reset_mail = mailbox.wait_for(EMAIL, "Reset your password")
    reset = http.post(
        f"{api}/auth/reset-password",
        json={"token": token_in(reset_mail), "password": NEW_PASSWORD},
    )

    assert forgot.status_code == 202
    assert reset.status_code == 200
    for token in (first, second.json()["accessToken"]):
        assert http.get(f"{api}/users/current", headers=_bearer(token)).status_code == 401
    fresh = http.post(f"{api}/auth/login", json={"email": EMAIL, "password": NEW_PASSWORD})
    assert fresh.status_code == 200
    ended = http.post(f"{api}/auth/logout-all", headers=_bearer(fresh.json()["accessToken"]))
    assert ended.status_code == 200
    assert "Passphrase" not in server.logs()
    assert token_in(reset_mail) not in server.logs()
