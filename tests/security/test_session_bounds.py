"""A session's lifetime is the one its face gave it at login, wherever it is refreshed, and
logging out works after the access token expired (OWASP ASVS 5 V7.3, V7.4.1)."""

from datetime import timedelta

import jwt
import pytest

from tests.factories import PASSWORD
from tests.factories import make_user

BLOG_COOKIE = ("refreshToken", "/api/v1/auth")
CMG_COOKIE = ("refresh_token", "/auth")
EXPIRED_BLOG_BODY = {"error": "AuthenticationError", "message": "Token has expired", "details": {}}


@pytest.fixture
def user(app_context):
    return make_user()


def _lifetime(token: str) -> timedelta:
    claims = jwt.decode(token, options={"verify_signature": False})
    return timedelta(seconds=claims["exp"] - claims["iat"])


def _cookie_value(response, name: str) -> str:
    header = next(h for h in response.headers.getlist("Set-Cookie") if h.startswith(f"{name}="))
    return header.split(";", 1)[0].split("=", 1)[1]


def test_a_token_pair_session_refreshed_by_the_blog_keeps_its_24_hours(client, user, frozen_clock):
    """The blog's 7-day lifetime must not launder a 24-hour token-pair session."""
    pair = client.post(
        "/api/token/", json={"username": user.username, "password": PASSWORD}
    ).get_json()
    frozen_clock.advance(3600)
    client.set_cookie(BLOG_COOKIE[0], pair["refresh"], path=BLOG_COOKIE[1])

    refreshed = client.post("/api/v1/auth/refresh-token")
    again = client.post(
        "/api/token/refresh/", json={"refresh": _cookie_value(refreshed, BLOG_COOKIE[0])}
    )

    assert refreshed.status_code == again.status_code == 200
    assert _lifetime(_cookie_value(refreshed, BLOG_COOKIE[0])) == timedelta(days=1)
    assert _lifetime(again.get_json()["refresh"]) == timedelta(days=1)


def test_a_blog_session_refreshed_by_token_pair_keeps_its_7_days(client, user, frozen_clock):
    login = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})

    refreshed = client.post(
        "/api/token/refresh/", json={"refresh": _cookie_value(login, BLOG_COOKIE[0])}
    )

    assert _lifetime(refreshed.get_json()["refresh"]) == timedelta(days=7)


@pytest.mark.parametrize(
    ("dialect", "cookie", "body"),
    [
        ("blog", BLOG_COOKIE, {"message": "Logged out successfully"}),
        ("cmg", CMG_COOKIE, {"message": "Logged out successfully"}),
    ],
    ids=["blog", "cmg"],
)  # fmt: skip
def test_logout_after_the_access_token_expired_ends_the_cookies_session(
    client, user, frozen_clock, dialect, cookie, body
):
    """The user clicks "log out" after 15 idle minutes: the session and the HttpOnly cookie
    must end, or a reload signs them back in."""
    if dialect == "blog":
        login = client.post(cookie[1] + "/login", json={"email": user.email, "password": PASSWORD})
        access, refresh_path = login.get_json()["accessToken"], cookie[1] + "/refresh-token"
    else:
        login = client.post("/auth/login", json={"username": user.username, "password": PASSWORD})
        access, refresh_path = login.get_json()["access_token"], "/auth/refresh"
    frozen_clock.advance(16 * 60)

    logout = client.post(cookie[1] + "/logout", headers={"Authorization": f"Bearer {access}"})
    client.set_cookie(cookie[0], _cookie_value(login, cookie[0]), path=cookie[1])
    reload = client.post(refresh_path)

    assert logout.status_code == 200
    assert logout.get_json() == body
    assert f"{cookie[0]}=;" in logout.headers["Set-Cookie"]
    assert reload.status_code == 401


def test_an_expired_access_token_without_a_cookie_keeps_the_documents_401(
    client, user, frozen_clock
):
    login = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    access = login.get_json()["accessToken"]
    client.delete_cookie(BLOG_COOKIE[0], path=BLOG_COOKIE[1])
    frozen_clock.advance(16 * 60)

    logout = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {access}"})

    assert logout.status_code == 401
    assert logout.get_json() == EXPIRED_BLOG_BODY


def test_an_expired_access_token_with_a_dead_cookie_keeps_the_documents_401(
    client, user, frozen_clock
):
    login = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    access = login.get_json()["accessToken"]
    client.set_cookie(BLOG_COOKIE[0], "not-a-token", path=BLOG_COOKIE[1])
    frozen_clock.advance(16 * 60)

    logout = client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {access}"})

    assert logout.status_code == 401
    assert logout.get_json() == EXPIRED_BLOG_BODY


def test_a_valid_access_token_without_a_cookie_keeps_the_documents_400(client, user):
    login = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    client.delete_cookie(BLOG_COOKIE[0], path=BLOG_COOKIE[1])

    logout = client.post(
        "/api/v1/auth/logout",
        headers={"Authorization": f"Bearer {login.get_json()['accessToken']}"},
    )

    assert logout.status_code == 400
