"""Step-up and the second-step lock through gunicorn, on two hosts of two workers: what a
stolen access token of any face can no longer do, how the owner proves who they are again,
a team's own sensitive view, and guesses raced thirty at a time."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e import http
from tests.mailbox import text_of
from tests.soft_authenticator import SoftAuthenticator
from tests.totp_codes import codes_in_order
from tests.totp_codes import wrong_code

pytestmark = pytest.mark.e2e

PASSWORD = "step Up Passphrase 4"
STALE = 301
MAX_FAILURES = 10
API = "/api/v1/auth"


@pytest.fixture(scope="module")
def two_hosts(start_module_server, redis_url, mailbox_module):
    """Two hosts on one database and one Redis (each test makes its own accounts), serving a
    team's own blueprint beside the service (examples/extension.py)."""
    settings = {
        "TEST_GUNICORN_APP": "examples.extension:app",
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "AUTH_RATELIMIT_CREDENTIALS_PER_IP": "1000 per minute",
        "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP": "1000 per minute",
        "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT": "1000 per minute",
        "MAIL_URL": mailbox_module.url,
    }
    return start_module_server(**settings), start_module_server(**settings)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _account(server) -> str:
    name = f"stepup{uuid.uuid4().hex[:10]}"
    server.create_user(name, password=PASSWORD)
    return name


def _face_tokens(url: str, name: str) -> dict[str, str]:
    """An access token of every face with user tokens, for ``name``."""
    body = {"username": name, "password": PASSWORD}
    blog = http.post(f"{url}{API}/login",
                     json={"email": f"{name}@example.com", "password": PASSWORD})  # fmt: skip
    return {
        "blog": blog.json()["accessToken"],
        "cmg": http.post(f"{url}/auth/login", json=body).json()["access_token"],
        "staff": http.post(f"{url}/api/auth/login", json=body).json()["token"],
        "token-pair": http.post(f"{url}/api/token/", json=body).json()["access"],
    }


def _sensitive_attempts(url: str, token: str) -> dict[str, int]:
    """What a thief with only an access token tries, by what it would win them."""
    bearer = _bearer(token)
    return {
        "passkey options": http.post(f"{url}{API}/passkeys/register/options",
                                     headers=bearer).status_code,
        "passkey": http.post(f"{url}{API}/passkeys/register", json={"credential": {}},
                             headers=bearer).status_code,
        "totp": http.post(f"{url}{API}/mfa/totp", json={}, headers=bearer).status_code,
        "team's view": http.post(f"{url}/orders/payout-address", headers=bearer).status_code,
    }  # fmt: skip


def test_a_stolen_token_of_any_face_cannot_add_a_factor_once_its_login_is_old(two_hosts):
    """Including a 7-day staff token: the session's login was over five minutes ago, and the
    thief cannot prove who they are again without the owner's password or factor."""
    first, second = two_hosts
    name = _account(first)
    tokens = _face_tokens(first.url, name)
    first.age_proofs(STALE)

    refused = {face: _sensitive_attempts(second.url, token) for face, token in tokens.items()}

    assert refused == {face: dict.fromkeys(_sensitive_attempts_keys(), 401) for face in tokens}
    body = http.post(f"{first.url}{API}/passkeys/register/options",
                     headers=_bearer(tokens["staff"])).json()  # fmt: skip
    assert body["error"] == "ReauthenticationRequiredError"
    assert body["details"] == {"methods": ["password"]}
    team = http.post(f"{first.url}/orders/payout-address", headers=_bearer(tokens["cmg"]))
    assert team.json() == {
        "error": "reauthentication_required",
        "message": "This action needs a recent authentication: prove who you are again first.",
        "methods": ["password"],
    }


def _sensitive_attempts_keys() -> tuple[str, ...]:
    return ("passkey options", "passkey", "totp", "team's view")


def test_the_owner_reauthenticates_on_one_host_and_acts_on_the_other(two_hosts):
    first, second = two_hosts
    name = _account(first)
    token = _face_tokens(first.url, name)["staff"]
    first.age_proofs(STALE)

    proved = http.post(f"{first.url}{API}/reauthenticate", json={"password": PASSWORD},
                       headers=_bearer(token))  # fmt: skip
    fresh = _bearer(proved.json()["accessToken"])
    options = http.post(f"{second.url}{API}/passkeys/register/options", headers=fresh)
    authenticator = SoftAuthenticator()
    added = http.post(f"{second.url}{API}/passkeys/register",
                      json={"credential": authenticator.create(options.json())},
                      headers=fresh)  # fmt: skip

    assert proved.status_code == 200
    assert added.status_code == 201
    assert len(added.json()["recoveryCodes"]) == 10
    # The staff token's own session proved itself too: the database decides.
    assert http.post(f"{second.url}/orders/payout-address", headers=_bearer(token)).json() == {
        "changed": True, "by": name,
    }  # fmt: skip


def test_with_a_passkey_the_password_no_longer_removes_it(two_hosts):
    first, second = two_hosts
    name = _account(first)
    token = _face_tokens(first.url, name)["blog"]
    authenticator = SoftAuthenticator()
    options = http.post(f"{first.url}{API}/passkeys/register/options", headers=_bearer(token))
    added = http.post(f"{first.url}{API}/passkeys/register",
                      json={"credential": authenticator.create(options.json())},
                      headers=_bearer(token)).json()  # fmt: skip
    first.age_proofs(STALE)

    by_password = http.post(f"{first.url}{API}/reauthenticate", json={"password": PASSWORD},
                            headers=_bearer(token)).json()["accessToken"]  # fmt: skip
    refused = http.delete(f"{second.url}{API}/passkeys/{added['id']}",
                          headers=_bearer(by_password))  # fmt: skip
    passkey_options = http.post(f"{second.url}{API}/reauthenticate/passkey-options",
                                headers=_bearer(token)).json()  # fmt: skip
    by_passkey = http.post(f"{second.url}{API}/reauthenticate",
                           json={"credential": authenticator.get(passkey_options)},
                           headers=_bearer(token)).json()["accessToken"]  # fmt: skip
    removed = http.delete(f"{first.url}{API}/passkeys/{added['id']}",
                          headers=_bearer(by_passkey))  # fmt: skip

    assert refused.status_code == 401
    assert refused.json()["details"] == {"methods": ["recoveryCode", "passkey"]}
    assert removed.status_code == 200


def test_an_admins_change_to_another_account_needs_a_recent_proof(two_hosts):
    first, second = two_hosts
    admin = f"chief{uuid.uuid4().hex[:8]}"
    first.create_user(admin, password=PASSWORD, roles=("user", "admin"))
    target = _account(first)
    token = _face_tokens(first.url, admin)["blog"]
    target_token = _face_tokens(first.url, target)["blog"]
    target_id = http.get(f"{first.url}/api/v1/users/current", headers=_bearer(target_token)).json()[
        "_id"
    ]
    first.age_proofs(STALE)

    refused = http.patch(f"{second.url}/api/v1/users/{target_id}", json={"isActive": False},
                         headers=_bearer(token))  # fmt: skip
    fresh = http.post(f"{second.url}{API}/reauthenticate", json={"password": PASSWORD},
                      headers=_bearer(token)).json()["accessToken"]  # fmt: skip
    done = http.patch(f"{first.url}/api/v1/users/{target_id}", json={"isActive": False},
                      headers=_bearer(fresh))  # fmt: skip

    assert refused.status_code == 401
    assert done.status_code == 200


def _with_totp(server, name: str):
    token = _face_tokens(server.url, name)["blog"]
    started = http.post(f"{server.url}{API}/mfa/totp", json={"password": PASSWORD},
                        headers=_bearer(token)).json()  # fmt: skip
    codes = codes_in_order(started["secret"])
    http.post(f"{server.url}{API}/mfa/totp/confirm", json={"code": next(codes)},
              headers=_bearer(token))  # fmt: skip
    return token, started["secret"], codes


def test_thirty_reauthentications_with_one_code_on_two_hosts_prove_once(two_hosts):
    first, second = two_hosts
    name = _account(first)
    token, _secret, codes = _with_totp(first, name)
    code = next(codes)

    def reauthenticate(n: int) -> int:
        host = (first, second)[n % 2]
        return http.post(f"{host.url}{API}/reauthenticate", json={"code": code},
                         headers=_bearer(token)).status_code  # fmt: skip

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(reauthenticate, range(30)))

    assert statuses.count(200) == 1
    assert set(statuses) <= {200, 400, 403}


def test_thirty_wrong_codes_on_two_hosts_check_no_more_than_the_lock_allows(
    two_hosts, mailbox_module
):
    """Each guess is counted before its code is checked: of thirty at once, ten are checked
    (400) and twenty meet the lock (403); the right code is refused too, and the owner gets
    one mail."""
    first, second = two_hosts
    name = _account(first)
    _token, secret, codes = _with_totp(first, name)
    guess = wrong_code(secret)
    login = {"email": f"{name}@example.com", "password": PASSWORD}
    mfa_tokens = [
        http.post(f"{first.url}{API}/login", json=login).json()["details"]["mfaToken"]
        for _ in range(30)
    ]

    def verify(n: int) -> int:
        host = (first, second)[n % 2]
        body = {"mfaToken": mfa_tokens[n], "code": guess}
        return http.post(f"{host.url}{API}/mfa/verify", json=body).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(verify, range(30)))
    right = http.post(f"{second.url}{API}/mfa/verify",
                      json={"mfaToken": mfa_tokens[0], "code": next(codes)})  # fmt: skip

    assert sorted(statuses) == [400] * MAX_FAILURES + [403] * (30 - MAX_FAILURES)
    assert right.status_code == 403
    assert right.json()["error"] == "MfaLockedError"
    notice = mailbox_module.wait_for(
        f"{name}@example.com", "Two-step sign-in to your account is locked"
    )
    assert "knows your password" in text_of(notice)
    assert len([m for m in mailbox_module.to(f"{name}@example.com")
                if "locked" in m["Subject"]]) == 1  # fmt: skip
