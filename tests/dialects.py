"""The four user-facing dialects as a client meets them: how each logs in, where each
answers with the caller."""

from collections.abc import Callable

from flask.testing import FlaskClient

from app.core.models import User
from tests.factories import PASSWORD

USER_ENDPOINTS = ["/api/v1/users/current", "/auth/me", "/api/auth/check", "/api/users/me/"]

# Each dialect's login, returning the access token it hands out.
LOGINS: dict[str, Callable[[FlaskClient, User], str]] = {
    "blog": lambda c, u: c.post(
        "/api/v1/auth/login", json={"email": u.email, "password": PASSWORD}
    ).get_json()["accessToken"],
    "cmg": lambda c, u: c.post(
        "/auth/login", json={"username": u.username, "password": PASSWORD}
    ).get_json()["access_token"],
    "staff": lambda c, u: c.post(
        "/api/auth/login", json={"username": u.username, "password": PASSWORD}
    ).get_json()["token"],
    "token-pair": lambda c, u: c.post(
        "/api/token/", json={"username": u.username, "password": PASSWORD}
    ).get_json()["access"],
}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
