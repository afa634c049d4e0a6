"""Brute-force budgets as an attacker meets them: parallel guesses on two hosts of two workers
each, a stranger trying to lock the owner out, and a hostile page spending an address's
budget with requests that are refused anyway (OWASP ASVS 5 V6.3.1)."""

import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
import requests

from tests.e2e import http
from tests.processes import ROOT

pytestmark = pytest.mark.e2e

PASSWORD = "budget Passphrase 31"
WRONG = "not the passphrase"
ATTACKER = {"X-Forwarded-For": "203.0.113.66"}
OWNER = {"X-Forwarded-For": "198.51.100.7"}


@pytest.fixture
def shared_settings(redis_url):
    """One Redis, one key prefix, client addresses from one trusted proxy hop."""
    return {
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "TRUSTED_PROXIES": "1",
        "AUTH_RATELIMIT_CREDENTIALS_PER_IP": "1000 per minute",
    }


def _create_user(server, name: str, *roles: str) -> None:
    server.create_user(name, password=PASSWORD, roles=roles or ("user",))


def test_thirty_parallel_guesses_on_two_hosts_get_ten_password_checks(
    start_server, shared_settings
):
    """The attacker fires 30 wrong passwords at once, spread over two hosts of two workers:
    the budget of 10 is reserved before each check, so only 10 passwords are ever checked."""
    hosts = [start_server(**shared_settings) for _ in range(2)]
    _create_user(hosts[0], "target")
    guess = {"username": "target", "password": WRONG}

    def attempt(n: int) -> int:
        url = f"{hosts[n % 2].url}/api/token/"
        return http.post(url, json=guess, headers=ATTACKER).status_code

    with ThreadPoolExecutor(max_workers=30) as pool:
        statuses = list(pool.map(attempt, range(30)))

    assert sorted(statuses) == [401] * 10 + [429] * 20
    owner = http.post(f"{hosts[1].url}/api/token/",
                      json={"username": "target", "password": PASSWORD}, headers=OWNER)  # fmt: skip
    assert owner.status_code == 200


def test_a_stranger_cannot_lock_the_admin_out_from_the_admins_own_address(
    start_server, shared_settings
):
    """The attacker spends the account's budget for the attacker's address; the admin,
    elsewhere, logs in as usual, in every dialect."""
    server = start_server(
        **shared_settings, AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP="5 per hour"
    )
    _create_user(server, "chief", "admin")
    blog_login = f"{server.url}/api/v1/auth/login"
    wrong = {"email": "chief@example.com", "password": WRONG}
    right = {"email": "chief@example.com", "password": PASSWORD}

    failures = [http.post(blog_login, json=wrong, headers=ATTACKER).status_code for _ in range(8)]
    attacker_with_the_password = http.post(blog_login, json=right, headers=ATTACKER)
    admin = http.post(blog_login, json=right, headers=OWNER)
    admin_cmg = http.post(
        f"{server.url}/auth/login", json={"username": "chief", "password": PASSWORD}, headers=OWNER
    )

    assert failures == [400] * 5 + [429] * 3
    assert attacker_with_the_password.status_code == 429
    assert admin.status_code == 200
    assert admin_cmg.status_code == 200


def test_requests_refused_before_any_check_leave_the_address_budgets_whole(
    start_server, shared_settings
):
    """A hostile page drives the victim's browser to send cross-site refreshes, text/plain
    logins and malformed bodies; none reaches a credential or token check, so the victim
    (same address) still logs in and refreshes."""
    server = start_server(
        **shared_settings | {"AUTH_RATELIMIT_CREDENTIALS_PER_IP": "5 per minute"},
        AUTH_RATELIMIT_REFRESH_PER_IP="5 per minute",
    )
    _create_user(server, "victim")
    login = http.post(f"{server.url}/api/v1/auth/login",
                      json={"email": "victim@example.com", "password": PASSWORD},
                      headers=OWNER)  # fmt: skip
    cookie = {"refreshToken": login.cookies["refreshToken"]}
    refresh_url = f"{server.url}/api/v1/auth/refresh-token"

    refused = [
        http.post(refresh_url, cookies=cookie,
                  headers={**OWNER, "Sec-Fetch-Site": "cross-site",
                           "Origin": "https://evil.example"}).status_code
        for _ in range(12)
    ] + [
        http.post(f"{server.url}/api/v1/auth/login", data='{"email": "victim@example.com"}',
                  headers={**OWNER, "Content-Type": "text/plain"}).status_code
        for _ in range(12)
    ] + [
        http.post(f"{server.url}/api/v1/auth/login", json={"email": "victim@example.com"},
                  headers=OWNER).status_code
        for _ in range(12)
    ]  # fmt: skip
    refreshed = http.post(refresh_url, cookies=cookie, headers=OWNER)
    logged_in = http.post(f"{server.url}/api/v1/auth/login",
                          json={"email": "victim@example.com", "password": PASSWORD},
                          headers=OWNER)  # fmt: skip

    assert refused == [403] * 12 + [415] * 12 + [400] * 12
    assert refreshed.status_code == 200
    assert logged_in.status_code == 200


def test_gunicorn_in_production_refuses_to_start_without_a_shared_budget_storage(
    start_server, tmp_path
):
    """Left unset, each worker would keep its own counters: every budget would be
    multiplied by the workers and hosts. gunicorn exits with the one-line reason."""
    server = start_server()  # migrates a database this refusal can point at
    env = {k: v for k, v in server.env.items() if k != "RATELIMIT_STORAGE_URI"}

    refused = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind", "127.0.0.1:0",
         "wsgi:app"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert refused.returncode != 0
    assert "refusing to start: RATELIMIT_STORAGE_URI is not set" in refused.stderr


def test_an_explicit_memory_storage_starts_with_a_warning_naming_the_multiplication(
    start_server,
):
    server = start_server(RATELIMIT_STORAGE_URI="memory://")

    assert http.get(f"{server.url}/healthz").status_code == 200
    assert "WARNING: RATELIMIT_STORAGE_URI is memory://" in server.logs()
    assert "multiplied by the number of workers and hosts" in server.logs()


FLOOD = {"X-Forwarded-For": "203.0.113.77"}
REFRESH_BUDGET = 10


@pytest.fixture
def two_hosts_with_a_token_budget(start_server, shared_settings):
    settings = shared_settings | {"AUTH_RATELIMIT_REFRESH_PER_IP": f"{REFRESH_BUDGET} per hour"}
    hosts = [start_server(**settings) for _ in range(2)]
    _create_user(hosts[0], "holder")
    return hosts


def _refresh(host, token: str) -> requests.Response:
    return http.post(f"{host.url}/api/v1/auth/refresh-token",
                     cookies={"refreshToken": token}, headers=FLOOD)  # fmt: skip


def test_unverifiable_refresh_tokens_from_one_address_are_checked_only_within_its_budget(
    two_hosts_with_a_token_budget,
):
    """30 forged tokens at once over two hosts of two workers: each is charged before it is
    answered, so exactly 10 are checked."""
    hosts = two_hosts_with_a_token_budget
    turns = iter(range(30))

    answers = http.at_once(30, lambda: _refresh(hosts[next(turns) % 2], "forged.token.value"))

    assert sorted(r.status_code for r in answers) == [401] * 10 + [429] * 20


def test_an_address_past_its_budget_with_valid_tokens_is_stopped_on_every_worker_and_host(
    two_hosts_with_a_token_budget, shared_settings, redis_url
):
    """Valid tokens are charged off the request path: 30 at once may pass the budget by what
    the workers admit before their charges come back, but the shared counter never passes
    it, and afterwards each worker admits at most one more before it refuses the address."""
    hosts = two_hosts_with_a_token_budget
    tokens = [_signed_in_token(hosts[n % 2]) for n in range(30)]
    turns = iter(range(30))

    burst = http.at_once(30, lambda: _refresh(hosts[next(turns) % 2], tokens.pop()))
    successors = [r.cookies["refreshToken"] for r in burst if r.status_code == 200]
    time.sleep(0.2)
    afterwards = []
    for n, token in enumerate(successors):
        afterwards.append(_refresh(hosts[n % 2], token).status_code)
        time.sleep(0.05)  # longer than a charge waits for its round trip

    assert {r.status_code for r in burst} <= {200, 429}
    assert len(successors) >= REFRESH_BUDGET
    assert set(afterwards) <= {200, 429}
    assert afterwards.count(200) <= 4  # two hosts of two workers
    assert _counted(redis_url, shared_settings["RATELIMIT_KEY_PREFIX"]) == REFRESH_BUDGET


def _signed_in_token(host) -> str:
    login = http.post(f"{host.url}/api/v1/auth/login",
                      json={"email": "holder@example.com", "password": PASSWORD},
                      headers=OWNER)  # fmt: skip
    assert login.status_code == 200, login.text
    return login.cookies["refreshToken"]


def _counted(redis_url: str, key_prefix: str) -> int:
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{key_prefix}/budgets/refresh/*"))
    return sum(int(client.get(key) or 0) for key in keys)
