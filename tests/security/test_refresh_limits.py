"""The per-IP budget of the endpoints that spend or check a refresh token, and the premise of
app/extensions.DecoratorLimiter: every limit the service has is a decorator's."""

import pytest
from flask import Flask

from app.extensions import limiter

OTHER_IP = {"REMOTE_ADDR": "198.51.100.7"}
# Each reaches a token check, so it spends a call of the budget, whatever its answer.
REFRESH_CALLS = [
    ("/api/v1/auth/refresh-token", None),
    ("/auth/refresh", None),
    ("/api/token/refresh/", {"refresh": "not-a-token"}),
    ("/api/token/verify/", {"token": "not-a-token"}),
    ("/api/token/blacklist/", {"refresh": "not-a-token"}),
]


@pytest.fixture
def app_overrides():
    return {"AUTH_RATELIMIT_REFRESH_PER_IP": f"{len(REFRESH_CALLS)} per minute"}


@pytest.fixture
def junk_cookies(client):
    """Refresh cookies that reach the token check and fail it."""
    client.set_cookie("refreshToken", "not-a-token", path="/api/v1/auth")
    client.set_cookie("refresh_token", "not-a-token", path="/auth")


def test_refresh_verify_and_blacklist_share_one_budget_per_ip(client, junk_cookies):
    statuses = [client.post(path, json=body).status_code for path, body in REFRESH_CALLS]

    refused = client.post("/api/token/refresh/", json={"refresh": "not-a-token"})
    elsewhere = client.post("/api/token/refresh/", json={"refresh": "x"}, environ_base=OTHER_IP)

    assert 429 not in statuses
    assert refused.status_code == 429
    assert refused.get_json() == {
        "detail": f"Request was throttled. Expected available in {refused.headers['Retry-After']} "
        "seconds."
    }
    assert elsewhere.status_code != 429


def test_a_spent_refresh_budget_leaves_logins_and_other_routes_alone(app, client, junk_cookies):
    for path, body in REFRESH_CALLS:
        client.post(path, json=body)
    assert client.post("/auth/refresh").status_code == 429

    assert client.get("/healthz").status_code == 200
    assert client.post("/auth/login", json={"username": "nobody", "password": "x"}).status_code in (
        400,
        401,
    )


def test_requests_refused_before_any_token_check_spend_nothing(client):
    """A page on another site can make a victim's browser send these; they must not use up
    the budget of everyone behind the victim's address."""
    for _ in range(3 * len(REFRESH_CALLS)):
        assert client.post("/auth/refresh").status_code == 401  # no cookie
    client.set_cookie("refresh_token", "not-a-token", path="/auth")
    for _ in range(3 * len(REFRESH_CALLS)):
        cross_site = client.post("/auth/refresh", headers={"Sec-Fetch-Site": "cross-site"})
        assert cross_site.status_code == 403
        assert client.post("/api/token/refresh/", data="x").status_code == 415

    assert client.post("/auth/refresh").status_code == 401


def test_every_limit_is_declared_by_a_decorator(app: Flask):
    """The limiter skips its before-request pass, which only serves limits of other kinds."""
    manager = limiter.limit_manager
    assert manager.default_limits == []
    assert manager.application_limits == []
    assert not app.config.get("RATELIMIT_DEFAULT")
    assert not app.config.get("RATELIMIT_APPLICATION")
    assert not app.config.get("RATELIMIT_META")
    for blueprint in app.blueprints:
        assert manager.blueprint_limits(app, blueprint) == [], blueprint
