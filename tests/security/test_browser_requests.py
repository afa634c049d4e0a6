"""Browser-borne requests: cross-site refusal, CORS for exact origins, safe headers
(OWASP ASVS 5 V3.4 browser security, V3.5 origin separation)."""

import pytest

from tests.factories import PASSWORD
from tests.factories import make_user

EVIL = "https://evil.example"


@pytest.fixture
def user(app_context):
    return make_user()


def _blog_login(client, user):
    return client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})


def _cmg_login(client, user):
    return client.post("/auth/login", json={"username": user.username, "password": PASSWORD})


@pytest.mark.parametrize(
    ("login", "path", "cookie", "cookie_path"),
    [
        (_blog_login, "/api/v1/auth/refresh-token", "refreshToken", "/api/v1/auth"),
        (_cmg_login, "/auth/refresh", "refresh_token", "/auth"),
    ],
    ids=["blog", "cmg"],
)
@pytest.mark.parametrize(
    "headers",
    [{"Origin": EVIL}, {"Origin": "null"}, {"Sec-Fetch-Site": "cross-site"},
     {"Origin": EVIL, "Sec-Fetch-Site": "same-origin"}],
    ids=["foreign-origin", "null-origin", "sec-fetch-cross-site", "origin-wins"],
)  # fmt: skip
def test_a_cross_site_refresh_is_403_and_rotates_nothing(
    client, user, login, path, cookie, cookie_path, headers
):
    """ASVS 5 V3.5.1: the cookie endpoints refuse cross-site requests; the cookie stays
    valid (no rotation happened)."""
    login(client, user)
    before = client.get_cookie(cookie, path=cookie_path).value

    refused = client.post(path, headers=headers)

    assert refused.status_code == 403
    assert "Set-Cookie" not in refused.headers
    assert client.get_cookie(cookie, path=cookie_path).value == before
    assert client.post(path).status_code == 200


def test_a_cross_site_logout_is_403_and_the_session_lives(client, user):
    """ASVS 5 V3.5.1: a forged logout from another site does nothing."""
    token = _blog_login(client, user).get_json()["accessToken"]
    bearer = {"Authorization": f"Bearer {token}"}

    refused = client.post("/api/v1/auth/logout", headers=bearer | {"Origin": EVIL})

    assert refused.status_code == 403
    assert client.get("/api/v1/users/current", headers=bearer).status_code == 200


def test_requests_without_origin_pass(client, user):
    """Mobile apps and curl send no Origin and no Sec-Fetch-Site, and must keep working."""
    _blog_login(client, user)

    assert client.post("/api/v1/auth/refresh-token").status_code == 200


def test_the_same_origin_passes(client, user):
    """A page served by this service itself is not cross-site."""
    _blog_login(client, user)

    response = client.post("/api/v1/auth/refresh-token", headers={"Origin": "http://localhost"})

    assert response.status_code == 200


STATE_CHANGING = [
    "/api/v1/auth/register", "/api/v1/auth/login", "/api/v1/auth/refresh-token",
    "/api/v1/auth/logout", "/auth/login", "/auth/refresh", "/auth/logout", "/api/auth/login",
    "/api/auth/logout", "/api/auth/change-password", "/api/token/", "/api/token/refresh/",
    "/api/token/verify/", "/api/token/blacklist/",
]  # fmt: skip


@pytest.mark.parametrize("method", ["GET", "HEAD"])
@pytest.mark.parametrize("path", STATE_CHANGING)
def test_get_and_head_on_state_changing_paths_are_405(client, method, path):
    """ASVS 5 V4.1.4: safe methods never change state; only POST is routed there."""
    response = client.open(path, method=method)

    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}


@pytest.fixture
def app_overrides():
    return {"CORS_ORIGINS": ["https://spa.example.com"]}


def test_cors_answers_the_configured_origin_with_credentials(client):
    """ASVS 5 V3.4.2: the exact configured origin may call with credentials."""
    response = client.options(
        "/api/v1/auth/refresh-token",
        headers={"Origin": "https://spa.example.com", "Access-Control-Request-Method": "POST"},
    )

    assert response.headers["Access-Control-Allow-Origin"] == "https://spa.example.com"
    assert response.headers["Access-Control-Allow-Credentials"] == "true"


@pytest.mark.parametrize(
    "origin",
    ["https://evil.example", "https://spaXexample.com", "https://spa.example.com.evil.example",
     "http://spa.example.com", "null"],
)  # fmt: skip
def test_cors_never_answers_another_origin_nor_a_wildcard(client, origin):
    """ASVS 5 V3.4.2: no look-alike, no other scheme, never '*'."""
    response = client.options(
        "/api/v1/auth/login",
        headers={"Origin": origin, "Access-Control-Request-Method": "POST"},
    )

    assert "Access-Control-Allow-Origin" not in response.headers


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/api/v1/users/current"), ("GET", "/nowhere"), ("POST", "/api/token/"),
     ("GET", "/auth")],
)  # fmt: skip
def test_every_response_says_nosniff_and_no_store(client, method, path):
    """ASVS 5 V3.4.4 and RFC 6749 5.1: no content sniffing, no caching of auth answers."""
    response = client.open(path, method=method)

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
