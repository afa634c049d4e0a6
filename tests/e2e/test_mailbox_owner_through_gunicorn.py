"""The mailbox owner always wins, through gunicorn on two hosts: an account a stranger
registered with someone else's address, and armed with a second factor, a passkey and a
session, is the owner's alone after the owner's reset or verification; and with
AUTH_REQUIRE_VERIFIED_EMAIL no way in skips the rule."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e import http
from tests.mailbox import token_in
from tests.soft_authenticator import SoftAuthenticator
from tests.totp_codes import codes_in_order

pytestmark = pytest.mark.e2e

API = "/api/v1/auth"
SQUATTERS = "squatters Passphrase 1"
OWNERS = "the Owners passphrase 2"


@pytest.fixture(scope="module")
def two_hosts(start_module_server, mailbox_module):
    settings = {
        "MAIL_URL": mailbox_module.url,
        "AUTH_FRONTEND_URL": "http://localhost:5000",
        "AUTH_RATELIMIT_CREDENTIALS_PER_IP": "1000 per minute",
        "AUTH_MAIL_INTERVAL_SECONDS": "0",
    }
    return start_module_server(**settings), start_module_server(**settings)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(url: str, email: str, password: str):
    return http.post(f"{url}{API}/login", json={"email": email, "password": password})


def _squatted(server) -> tuple[str, str]:
    """A stranger registers someone else's address and arms the account: TOTP, then a
    passkey. Their access token, and the address."""
    email = f"victim-{uuid.uuid4().hex[:8]}@example.com"
    registration = {"email": email, "password": SQUATTERS}
    token = http.post(f"{server.url}{API}/register", json=registration).json()["accessToken"]
    started = http.post(f"{server.url}{API}/mfa/totp", json={"password": SQUATTERS},
                        headers=_bearer(token)).json()  # fmt: skip
    codes = codes_in_order(started["secret"])
    http.post(f"{server.url}{API}/mfa/totp/confirm", json={"code": next(codes)},
              headers=_bearer(token))  # fmt: skip
    token = http.post(f"{server.url}{API}/reauthenticate", json={"code": next(codes)},
                      headers=_bearer(token)).json()["accessToken"]  # fmt: skip
    options = http.post(f"{server.url}{API}/passkeys/register/options", headers=_bearer(token))
    added = http.post(f"{server.url}{API}/passkeys/register",
                      json={"credential": SoftAuthenticator().create(options.json())},
                      headers=_bearer(token))  # fmt: skip
    assert added.status_code == 201, added.text
    return token, email


def test_the_owners_reset_ends_everything_the_stranger_added(two_hosts, mailbox_module):
    first, second = two_hosts
    squatters_token, email = _squatted(first)

    http.post(f"{second.url}{API}/forgot-password", json={"email": email})
    token = token_in(mailbox_module.wait_for(email, "Reset your password"))
    reset = http.post(f"{first.url}{API}/reset-password",
                      json={"token": token, "password": OWNERS})  # fmt: skip
    owner = _login(second.url, email, OWNERS)

    assert reset.status_code == 200
    assert owner.status_code == 200  # no second step the owner never set up
    owners = _bearer(owner.json()["accessToken"])
    assert http.get(f"{first.url}{API}/passkeys", headers=owners).json() == {"passkeys": []}
    assert http.get(f"{first.url}/api/v1/users/current",
                    headers=_bearer(squatters_token)).status_code == 401  # fmt: skip
    assert _login(first.url, email, SQUATTERS).status_code == 400


def test_thirty_verifications_with_one_token_on_two_hosts_end_the_strangers_ways_once(
    two_hosts, mailbox_module
):
    first, second = two_hosts
    squatters_token, email = _squatted(first)
    # The mail the stranger's registration sent, which only the owner reads.
    token = token_in(mailbox_module.wait_for(email, "Verify your email address"))

    def verify(n: int) -> int:
        host = (first, second)[n % 2]
        return http.post(f"{host.url}{API}/verify-email", json={"token": token}).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(verify, range(30)))

    assert sorted(statuses) == [200] + [400] * 29
    assert _login(first.url, email, SQUATTERS).status_code == 400
    assert http.get(f"{second.url}/api/v1/users/current",
                    headers=_bearer(squatters_token)).status_code == 401  # fmt: skip
    http.post(f"{second.url}{API}/forgot-password", json={"email": email})
    reset = token_in(mailbox_module.wait_for(email, "Reset your password"))
    http.post(f"{first.url}{API}/reset-password", json={"token": reset, "password": OWNERS})
    assert _login(second.url, email, OWNERS).status_code == 200


def test_the_registrant_who_verifies_from_their_session_keeps_it(two_hosts, mailbox_module):
    first, second = two_hosts
    email = f"reader-{uuid.uuid4().hex[:8]}@example.com"
    registered = http.post(f"{first.url}{API}/register",
                           json={"email": email, "password": OWNERS}).json()  # fmt: skip
    token = token_in(mailbox_module.wait_for(email, "Verify your email address"))

    verified = http.post(f"{second.url}{API}/verify-email", json={"token": token},
                         headers=_bearer(registered["accessToken"]))  # fmt: skip

    assert verified.json()["message"] == "Email verified"
    assert http.get(f"{first.url}/api/v1/users/current",
                    headers=_bearer(registered["accessToken"])).status_code == 200  # fmt: skip


def test_with_verified_email_required_no_way_in_opens_a_session_before_the_proof(
    start_module_server, mailbox_module
):
    """Password, passkey and second step alike: an unverified account gets no session."""
    strict = start_module_server(MAIL_URL=mailbox_module.url, AUTH_REQUIRE_VERIFIED_EMAIL="true")
    name = f"strict{uuid.uuid4().hex[:8]}"
    strict.create_user(name, password=OWNERS)  # verified, as the CLI makes accounts
    token = _login(strict.url, f"{name}@example.com", OWNERS).json()["accessToken"]
    authenticator = SoftAuthenticator()
    options = http.post(f"{strict.url}{API}/passkeys/register/options", headers=_bearer(token))
    http.post(f"{strict.url}{API}/passkeys/register",
              json={"credential": authenticator.create(options.json())},
              headers=_bearer(token))  # fmt: skip
    strict.set_user(name, email_verified_at=None)  # made before verification was required

    password = _login(strict.url, f"{name}@example.com", OWNERS)
    sign_in_options = http.post(f"{strict.url}{API}/passkeys/login/options", json={}).json()
    passkey = http.post(f"{strict.url}{API}/passkeys/login",
                        json={"challengeId": sign_in_options["challengeId"],
                              "credential": authenticator.get(sign_in_options)})  # fmt: skip

    assert password.status_code == 403
    assert "mfaToken" not in password.text
    assert passkey.status_code == 403
    assert passkey.json()["message"] == "Verify your email address before logging in."
    assert "Set-Cookie" not in passkey.headers
