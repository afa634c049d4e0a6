"""The second factor through gunicorn, as a client and an attacker meet it: the whole TOTP
flow, a code raced on two hosts of two workers (one wins), an mfaToken's tries raced (no more
than allowed are checked), and the faces without a second step."""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e import http
from tests.soft_authenticator import SoftAuthenticator
from tests.totp_codes import codes_in_order
from tests.totp_codes import wrong_code

pytestmark = pytest.mark.e2e

PASSWORD = "second Factor Passphrase 7"
TRIES = 5


@pytest.fixture(scope="module")
def two_hosts(start_module_server, redis_url):
    """Two hosts of two workers each, on one database and one Redis, shared by this module's
    tests (each makes its own account)."""
    settings = {
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "AUTH_RATELIMIT_CREDENTIALS_PER_IP": "1000 per minute",
        "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP": "1000 per minute",
        "AUTH_MFA_TOKEN_TRIES": str(TRIES),
    }
    return start_module_server(**settings), start_module_server(**settings)


def _signed_up_with_totp(server, email: str):
    server.create_user(email.split("@")[0], email=email, password=PASSWORD)
    login = http.post(
        f"{server.url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    bearer = {"Authorization": f"Bearer {login.json()['accessToken']}"}
    started = http.post(
        f"{server.url}/api/v1/auth/mfa/totp", json={"password": PASSWORD}, headers=bearer
    )
    secret = started.json()["secret"]
    codes = codes_in_order(secret)
    confirmed = http.post(
        f"{server.url}/api/v1/auth/mfa/totp/confirm", json={"code": next(codes)}, headers=bearer
    )
    assert confirmed.status_code == 200, confirmed.text
    return secret, confirmed.json()["recoveryCodes"], codes


def _mfa_token(server, email: str) -> str:
    response = http.post(
        f"{server.url}/api/v1/auth/login", json={"email": email, "password": PASSWORD}
    )
    assert response.status_code == 403, response.text
    assert "Set-Cookie" not in response.headers
    return response.json()["details"]["mfaToken"]


def test_a_login_with_totp_through_gunicorn_ends_in_a_session_with_two_factors(two_hosts):
    first, second = two_hosts
    _secret, _recovery, codes = _signed_up_with_totp(first, "ada@example.com")

    done = http.post(
        f"{second.url}/api/v1/auth/mfa/verify",
        json={"mfaToken": _mfa_token(first, "ada@example.com"), "code": next(codes)},
    )

    assert done.status_code == 200
    assert "refreshToken=" in done.headers["Set-Cookie"]
    me = http.get(
        f"{first.url}/api/v1/users/current",
        headers={"Authorization": f"Bearer {done.json()['accessToken']}"},
    )
    assert me.json()["email"] == "ada@example.com"


def test_one_code_raced_on_two_hosts_opens_one_session(two_hosts):
    """Thirty logins bring the same fresh code at once, each with its own mfaToken: the code's
    step is taken by one conditional UPDATE, so exactly one of them signs in. The others are
    wrong codes for the account's second-step lock, which lets no more than
    AUTH_MFA_MAX_FAILURES of them be checked at once: the rest are 403 MfaLockedError."""
    first, second = two_hosts
    _secret, _recovery, codes = _signed_up_with_totp(first, "race@example.com")
    tokens = [_mfa_token(first, "race@example.com") for _ in range(30)]
    code = next(codes)

    def verify(n: int) -> int:
        host = (first, second)[n % 2]
        body = {"mfaToken": tokens[n], "code": code}
        return http.post(f"{host.url}/api/v1/auth/mfa/verify", json=body).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(verify, range(30)))

    assert statuses.count(200) == 1
    assert set(statuses) <= {200, 400, 403}


def test_thirty_parallel_tries_on_one_mfa_token_get_no_more_than_its_tries(two_hosts):
    first, second = two_hosts
    secret, _recovery, _codes = _signed_up_with_totp(first, "guess@example.com")
    token = _mfa_token(first, "guess@example.com")
    guess = wrong_code(secret)

    def verify(n: int) -> int:
        host = (first, second)[n % 2]
        body = {"mfaToken": token, "code": guess}
        return http.post(f"{host.url}/api/v1/auth/mfa/verify", json=body).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(verify, range(30)))

    assert sorted(statuses) == [400] * TRIES + [401] * (30 - TRIES)


@pytest.mark.parametrize(
    ("path", "name_field"),
    [("/auth/login", "username"), ("/api/auth/login", "username"), ("/api/token/", "username")],
)
def test_faces_without_a_second_step_never_hand_out_a_token(two_hosts, path, name_field):
    first, _second = two_hosts
    name = f"elsewhere{uuid.uuid4().hex[:8]}"
    _signed_up_with_totp(first, f"{name}@example.com")

    response = http.post(f"{first.url}{path}", json={name_field: name, "password": PASSWORD})

    assert response.status_code == 401
    assert "signs in with a second factor" in response.text


def test_one_passkey_assertion_raced_on_two_hosts_signs_in_once(two_hosts):
    """The same signed assertion, sent thirty times at once to two hosts: its challenge is
    spent by one conditional UPDATE and its sign count moved by another, so one signs in."""
    first, second = two_hosts
    name = f"passkey{uuid.uuid4().hex[:8]}"
    first.create_user(name, password=PASSWORD)
    login = http.post(
        f"{first.url}/api/v1/auth/login",
        json={"email": f"{name}@example.com", "password": PASSWORD},
    )
    bearer = {"Authorization": f"Bearer {login.json()['accessToken']}"}
    authenticator = SoftAuthenticator()  # for http://localhost:5000, AUTH_FRONTEND_URL's default
    options = http.post(f"{first.url}/api/v1/auth/passkeys/register/options", headers=bearer)
    added = http.post(
        f"{second.url}/api/v1/auth/passkeys/register",
        json={"credential": authenticator.create(options.json())},
        headers=bearer,
    )
    assert added.status_code == 201, added.text
    request = http.post(f"{second.url}/api/v1/auth/passkeys/login/options", json={}).json()
    body = {"challengeId": request["challengeId"], "credential": authenticator.get(request)}

    def sign_in(n: int) -> int:
        host = (first, second)[n % 2]
        return http.post(f"{host.url}/api/v1/auth/passkeys/login", json=body).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(sign_in, range(30)))

    assert statuses.count(200) == 1
    assert set(statuses) <= {200, 400, 403}


def test_passkey_sign_in_options_have_one_shape_for_known_and_unknown_emails(two_hosts):
    first, second = two_hosts
    name = f"shape{uuid.uuid4().hex[:8]}"
    first.create_user(name, password=PASSWORD)
    login = http.post(f"{first.url}/api/v1/auth/login",
                      json={"email": f"{name}@example.com", "password": PASSWORD})  # fmt: skip
    bearer = {"Authorization": f"Bearer {login.json()['accessToken']}"}
    options = http.post(f"{first.url}/api/v1/auth/passkeys/register/options", headers=bearer)
    http.post(f"{first.url}/api/v1/auth/passkeys/register", headers=bearer,
              json={"credential": SoftAuthenticator().create(options.json())})  # fmt: skip

    known = http.post(f"{second.url}/api/v1/auth/passkeys/login/options",
                      json={"email": f"{name}@example.com"}).json()  # fmt: skip
    unknown = http.post(f"{second.url}/api/v1/auth/passkeys/login/options",
                        json={"email": f"nobody-{name}@example.com"}).json()  # fmt: skip

    assert known.keys() == unknown.keys()
    assert [set(entry) for entry in known["allowCredentials"]] == [{"id", "type"}]
    assert [set(entry) for entry in unknown["allowCredentials"]] == [{"id", "type"}]
