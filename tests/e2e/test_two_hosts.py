"""Two servers on one database and one Redis behave as one service."""

import uuid

import pytest

from tests.e2e import http

pytestmark = pytest.mark.e2e
PASSWORD = "two Hosts Passphrase 5"


@pytest.fixture
def two_hosts(start_server, redis_url):
    shared = {
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": f"test-{uuid.uuid4().hex}",
        "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT": "6 per 15 minutes",
    }
    first, second = start_server(**shared), start_server(**shared)
    first.create_user("roamer", password=PASSWORD)
    return first, second


def test_a_logout_on_one_host_is_refused_on_the_other_at_once(two_hosts):
    first, second = two_hosts
    login = http.post(f"{first.url}/api/v1/auth/login",
                      json={"email": "roamer@example.com", "password": PASSWORD})  # fmt: skip
    bearer = {"Authorization": f"Bearer {login.json()['accessToken']}"}
    before = http.get(f"{second.url}/api/v1/users/current", headers=bearer)

    http.post(f"{first.url}/api/v1/auth/logout", headers=bearer,
              cookies={"refreshToken": login.cookies["refreshToken"]})  # fmt: skip
    after = http.get(f"{second.url}/api/v1/users/current", headers=bearer)
    refresh = http.post(f"{second.url}/api/v1/auth/refresh-token",
                        cookies={"refreshToken": login.cookies["refreshToken"]})  # fmt: skip

    assert before.status_code == 200
    assert after.status_code == 401
    assert refresh.status_code == 401


def test_a_brute_force_split_between_hosts_meets_one_budget(two_hosts):
    first, second = two_hosts
    wrong = {"username": "roamer", "password": "not it"}
    right = {"username": "roamer", "password": PASSWORD}

    failures = [http.post(f"{host.url}/api/token/", json=wrong).status_code
                for host in (first, second) * 3]  # fmt: skip
    after = [http.post(f"{host.url}/api/auth/login", json=right).status_code
             for host in (first, second)]  # fmt: skip

    assert failures == [401] * 6
    assert after == [429, 429]
