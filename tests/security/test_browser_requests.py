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
     {"Origin": EVIL, "Sec-Fetch-Site": "cross-site"},
     {"Origin": EVIL, "Sec-Fetch-Site": "same-site"},
     {"Origin": "http://localhost", "Sec-Fetch-Site": "cross-site"},
     {"Origin": EVIL, "Sec-Fetch-Site": "something-new"}],
    ids=["foreign-origin", "null-origin", "sec-fetch-cross-site", "cross-site-with-origin",
         "same-site-not-listed", "fetch-metadata-decides", "unknown-fetch-metadata"],
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


def test_a_same_origin_page_behind_a_host_rewriting_proxy_passes(client, user):
    """nginx's default proxy_set_header Host $proxy_host: the page's Origin is the proxy's,
    the Host the service sees is the upstream's. The browser's Fetch Metadata says
    same-origin, which no page can forge."""
    _blog_login(client, user)

    response = client.post(
        "/api/v1/auth/refresh-token",
        headers={"Origin": "https://app.example.org", "Sec-Fetch-Site": "same-origin"},
    )

    assert response.status_code == 200


def test_a_same_site_page_listed_in_cors_origins_passes(app, client, user):
    app.config["CORS_ORIGINS"] = ["https://spa.example.com"]
    _blog_login(client, user)

    response = client.post(
        "/api/v1/auth/refresh-token",
        headers={"Origin": "https://spa.example.com", "Sec-Fetch-Site": "same-site"},
    )

    assert response.status_code == 200


@pytest.mark.parametrize(("trusted_proxies", "expected"), [(1, 200), (0, 403)])
def test_without_fetch_metadata_x_forwarded_host_counts_only_from_a_trusted_proxy(
    database_url, seed_rows, trusted_proxies, expected
):
    """An older browser behind a proxy that passes the public host on: its Origin is the
    public host, which the service knows only from a hop it trusts."""
    from app.database import db
    from tests.conftest import dispose_engines
    from tests.conftest import make_app
    from tests.conftest import reset_tables

    app = make_app(database_url, TRUSTED_PROXIES=trusted_proxies)
    with app.app_context():
        reset_tables(seed_rows)
        email = make_user().email
    client = app.test_client()
    try:
        client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
        response = client.post(
            "/api/v1/auth/refresh-token",
            headers={"Origin": "https://auth.example.org", "X-Forwarded-Host": "auth.example.org",
                     "X-Forwarded-Proto": "https", "X-Forwarded-For": "198.51.100.9"},
        )  # fmt: skip
    finally:
        with app.app_context():
            db.session.remove()
            dispose_engines()

    assert response.status_code == expected


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
     ("GET", "/auth"), ("GET", "/docs"), ("GET", "/healthz")],
)  # fmt: skip
def test_every_response_says_nosniff_no_store_and_no_framing(client, method, path):
    """ASVS 5 V3.4.4, V3.4.6 and RFC 6749 5.1: no content sniffing, no caching of auth
    answers, no framing by another page."""
    response = client.open(path, method=method)

    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"
