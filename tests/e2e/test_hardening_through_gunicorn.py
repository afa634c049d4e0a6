"""Security properties that only a real server shows: shared limits across workers, and
logs that carry no secrets (OWASP ASVS 5 V6.3.1, V16.2.5)."""

import json
import re
import uuid

import pytest

from tests.e2e import http
from tests.signing import TEST_SECRET

pytestmark = pytest.mark.e2e

PASSWORD = "e2e Passphrase 2024"
WRONG = "not the passphrase"
NEW_PASSWORD = "another Passphrase 99"


def test_workers_share_one_account_budget_through_redis(start_server, redis_url):
    """ASVS 5 V6.3.1: a brute force spread over the workers meets one budget."""
    server = start_server(
        RATELIMIT_STORAGE_URI=redis_url,
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
        AUTH_RATELIMIT_FAILURES_PER_ACCOUNT="5 per 15 minutes",
    )
    server.create_user("victim", password=PASSWORD)
    login = f"{server.url}/api/token/"

    failures = [http.post(login, json={"username": "victim", "password": WRONG}).status_code
                for _ in range(5)]  # fmt: skip
    right = [http.post(login, json={"username": "victim", "password": PASSWORD}).status_code
             for _ in range(6)]  # fmt: skip

    assert failures == [401] * 5
    assert right == [429] * 6


def test_a_full_run_leaves_no_secret_in_any_log(start_server):
    """ASVS 5 V16.2.5: no password, hash, key, secret, token, cookie, SQL, path or
    traceback in the access, error or application logs."""
    server = start_server()
    secrets_seen: list[str] = [PASSWORD, WRONG, NEW_PASSWORD, TEST_SECRET]
    server.flask("users", "create", "--username", "ops", "--email", "ops@example.com",
                 "--password", PASSWORD)  # fmt: skip
    credentials = json.loads(server.flask("clients", "create", "billing").stdout)
    secrets_seen.append(credentials["clientKey"])
    secrets_seen += _exercise_every_dialect(server.url, credentials)

    logs = server.logs()

    assert "GET /api/v1/users/current" in logs, "the access log was captured"
    assert logs.count("AUTH_COOKIE_SECURE is off in production") == 1
    for secret in secrets_seen:
        assert secret not in logs
    for forbidden in ("scrypt:", "Traceback", "SELECT ", "INSERT ", '.py"', "/site-packages/"):
        assert forbidden not in logs, forbidden
    assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}\.", logs), "no JWT in the logs"


def _exercise_every_dialect(url: str, credentials: dict[str, str]) -> list[str]:
    """Drive logins (right and wrong), refreshes, logouts and errors; return every token
    and cookie value the server handed out."""
    seen: list[str] = []
    blog = http.post(f"{url}/api/v1/auth/login", json={"email": "ops@example.com",
                                                     "password": PASSWORD})  # fmt: skip
    http.post(f"{url}/api/v1/auth/login", json={"email": "ops@example.com", "password": WRONG})
    access, cookie = blog.json()["accessToken"], blog.cookies["refreshToken"]
    bearer = {"Authorization": f"Bearer {access}"}
    http.get(f"{url}/api/v1/users/current", headers=bearer)
    refreshed = http.post(f"{url}/api/v1/auth/refresh-token", cookies={"refreshToken": cookie})
    seen += [access, cookie, refreshed.json()["accessToken"], refreshed.cookies["refreshToken"]]
    http.post(f"{url}/api/v1/auth/logout", headers=bearer,
              cookies={"refreshToken": refreshed.cookies["refreshToken"]})  # fmt: skip
    pair = http.post(f"{url}/api/token/", json={"username": "ops", "password": PASSWORD}).json()
    http.post(f"{url}/api/token/refresh/", json={"refresh": pair["refresh"]})
    http.post(f"{url}/api/token/verify/", json={"token": pair["access"]})
    staff = http.post(f"{url}/api/auth/login", json={"username": "ops", "password": PASSWORD})
    staff_bearer = {"Authorization": f"Bearer {staff.json()['token']}"}
    http.post(f"{url}/api/auth/change-password", headers=staff_bearer,
              json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD})  # fmt: skip
    client_token = http.post(f"{url}/auth", json=credentials).json()["data"]["accessToken"]
    http.get(f"{url}/auth", headers={"Authorization": f"Bearer {client_token}"})
    http.get(f"{url}/auth/me", headers={"Authorization": "Bearer forged.token.value"})
    http.get(f"{url}/api/v1/users/current", params={"token": access}, headers=bearer)
    http.post(f"{url}/api/v1/auth/login", data="x" * 70_000,
              headers={"Content-Type": "application/json"})  # fmt: skip
    return [*seen, pair["access"], pair["refresh"], staff.json()["token"], client_token]


def test_refresh_cookies_through_gunicorn_are_locked_down(start_server):
    """ASVS 5 V3.3.1, V3.3.2, V3.5.1: as a browser receives them, refresh cookies are
    Secure, HttpOnly, SameSite=Strict and path-scoped, and a cross-site refresh is refused."""
    server = start_server(AUTH_COOKIE_SECURE="true")
    server.create_user("cookie", password=PASSWORD)

    blog = http.post(f"{server.url}/api/v1/auth/login",
                     json={"email": "cookie@example.com", "password": PASSWORD})  # fmt: skip
    cmg = http.post(f"{server.url}/auth/login",
                    json={"username": "cookie", "password": PASSWORD})  # fmt: skip
    cross_site = http.post(
        f"{server.url}/api/v1/auth/refresh-token",
        headers={"Origin": "https://evil.example"},
        cookies={"refreshToken": blog.cookies["refreshToken"]},
    )

    for response, path in ((blog, "/api/v1/auth"), (cmg, "/auth")):
        flags = {part.strip() for part in response.headers["Set-Cookie"].split(";")}
        assert {"Secure", "HttpOnly", "SameSite=Strict", f"Path={path}"} <= flags
    assert cross_site.status_code == 403
    assert "Set-Cookie" not in cross_site.headers
