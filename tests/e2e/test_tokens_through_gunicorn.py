"""Token and session rules as a client meets them through gunicorn: a session keeps the
lifetime its face gave it, absurd signed dates are refused, and logout works once the
access token has expired."""

import time

import jwt
import pytest

from app.core.tokens.verifier import MAX_NUMERIC_DATE
from tests.e2e import http
from tests.signing import sign_as_service

pytestmark = pytest.mark.e2e

PASSWORD = "tokens Passphrase 12"
DAY = 24 * 3600


@pytest.fixture
def server(start_server):
    server = start_server()
    server.create_user("walker", password=PASSWORD)
    return server


def _unverified(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def test_a_token_pair_session_refreshed_at_the_blog_face_does_not_grow_to_7_days(server):
    pair = http.post(f"{server.url}/api/token/",
                     json={"username": "walker", "password": PASSWORD}).json()  # fmt: skip

    blog = http.post(f"{server.url}/api/v1/auth/refresh-token",
                     cookies={"refreshToken": pair["refresh"]})  # fmt: skip
    successor = _unverified(blog.cookies["refreshToken"])

    assert blog.status_code == 200
    assert successor["exp"] - successor["iat"] == DAY
    assert successor["exp"] <= _unverified(pair["refresh"])["exp"] + 5


def test_signed_tokens_with_absurd_dates_get_401_not_500(server):
    login = http.post(f"{server.url}/api/token/",
                      json={"username": "walker", "password": PASSWORD}).json()  # fmt: skip
    answers = {}
    for claim in ("exp", "iat", "nbf"):
        for value in (10**20, 2**63, 10**400, -1, MAX_NUMERIC_DATE + 1):
            answers[claim, value] = _answers_to(server.url, login, {claim: value})

    assert set(answers.values()) == {(401,) * 6}, answers


def _answers_to(url: str, login: dict, changed: dict) -> tuple[int, ...]:
    access = sign_as_service(_unverified(login["access"]) | changed)
    refresh = sign_as_service(_unverified(login["refresh"]) | changed)
    bearer = {"Authorization": f"Bearer {access}"}
    return (
        http.get(f"{url}/api/v1/users/current", headers=bearer).status_code,
        http.get(f"{url}/auth/me", headers=bearer).status_code,
        http.get(f"{url}/api/auth/check", headers=bearer).status_code,
        http.post(f"{url}/api/token/verify/", json={"token": access}).status_code,
        http.post(f"{url}/api/token/refresh/", json={"refresh": refresh}).status_code,
        http.post(
            f"{url}/api/v1/auth/refresh-token", cookies={"refreshToken": refresh}
        ).status_code,
    )


@pytest.mark.parametrize(
    ("login_path", "body", "token_field", "cookie", "refresh_path"),
    [
        ("/api/v1/auth/login", {"email": "walker@example.com"}, "accessToken", "refreshToken",
         "/api/v1/auth/refresh-token"),
        ("/auth/login", {"username": "walker"}, "access_token", "refresh_token", "/auth/refresh"),
    ],
    ids=["blog", "cmg"],
)  # fmt: skip
def test_logout_after_the_access_token_expired_ends_the_session_and_the_cookie(
    server, login_path, body, token_field, cookie, refresh_path
):
    """The user clicks "log out" after the access token expired: the session ends, the
    cookie is cleared, and a reload with the old cookie does not sign them in."""
    login = http.post(f"{server.url}{login_path}", json=body | {"password": PASSWORD})
    refresh_cookie = login.cookies[cookie]
    now = int(time.time())
    # The access token as it is 16 idle minutes later: expired (the server's clock is real).
    access = sign_as_service(
        _unverified(login.json()[token_field]) | {"iat": now - 1000, "nbf": now - 1000,
                                                   "exp": now - 100}
    )  # fmt: skip
    logout_path = login_path.replace("login", "logout")

    logout = http.post(f"{server.url}{logout_path}",
                       headers={"Authorization": f"Bearer {access}"},
                       cookies={cookie: refresh_cookie})  # fmt: skip
    reload = http.post(f"{server.url}{refresh_path}", cookies={cookie: refresh_cookie})

    assert logout.status_code == 200
    assert f"{cookie}=;" in logout.headers["Set-Cookie"]
    assert reload.status_code == 401
