"""The blog API's account lifecycle: list and end sessions, log out everywhere, change the
password. Every ended session's tokens fail on their next use."""

import pytest
from flask.testing import FlaskClient
from sqlalchemy import select

from app.core.models import AuthEvent
from app.core.models import SignInSession
from app.database import db
from tests.conftest import AuthActions
from tests.factories import PASSWORD
from tests.factories import make_user
from tests.matchers import TIMESTAMP
from tests.matchers import blog_error

SESSIONS = "/api/v1/auth/sessions"
NEW_PASSWORD = "a brand new passphrase 42"


@pytest.fixture
def user(app_context):
    return make_user(email="owner@example.com")


def _device(app, user_agent: str) -> tuple[FlaskClient, str]:
    """A separate browser logged in as owner@example.com: its client and access token."""
    device = app.test_client()
    response = device.post(
        "/api/v1/auth/login",
        json={"email": "owner@example.com", "password": PASSWORD},
        headers={"User-Agent": user_agent},
        environ_base={"REMOTE_ADDR": "198.51.100.7"},
    )
    assert response.status_code == 200, response.get_json()
    return device, response.get_json()["accessToken"]


def _me(client: FlaskClient, token: str) -> int:
    return client.get("/api/v1/users/current", headers=AuthActions.headers(token)).status_code


def test_sessions_lists_each_live_session_and_marks_the_calling_one(app, user):
    _phone, phone_token = _device(app, "Phone/1.0")
    laptop, laptop_token = _device(app, "Laptop/2.0")

    response = laptop.get(SESSIONS, headers=AuthActions.headers(laptop_token))

    assert response.status_code == 200
    listed = response.get_json()["sessions"]
    assert sorted((s["userAgent"], s["current"]) for s in listed) == [
        ("Laptop/2.0", True),
        ("Phone/1.0", False),
    ]
    for session in listed:
        assert session["ip"] == "198.51.100.7"
        assert set(session) == {
            "id", "createdAt", "lastUsedAt", "expiresAt", "userAgent", "ip", "clientType",
            "deviceName", "platform", "current",
        }  # fmt: skip
        assert (session["clientType"], session["deviceName"]) == ("browser", None)
        assert session["createdAt"] == TIMESTAMP
    assert _me(app.test_client(), phone_token) == 200


def test_sessions_leaves_out_ended_and_other_users_sessions(app, user):
    phone, phone_token = _device(app, "Phone/1.0")
    laptop, laptop_token = _device(app, "Laptop/2.0")
    make_user(email="someone.else@example.com")
    app.test_client().post(
        "/api/v1/auth/login", json={"email": "someone.else@example.com", "password": PASSWORD}
    )
    phone.post("/api/v1/auth/logout", headers=AuthActions.headers(phone_token))

    listed = laptop.get(SESSIONS, headers=AuthActions.headers(laptop_token)).get_json()

    assert [s["userAgent"] for s in listed["sessions"]] == ["Laptop/2.0"]


def test_ending_a_session_makes_its_tokens_fail_at_once(app, user):
    phone, phone_token = _device(app, "Phone/1.0")
    laptop, laptop_token = _device(app, "Laptop/2.0")
    listed = laptop.get(SESSIONS, headers=AuthActions.headers(laptop_token)).get_json()
    [phone_session] = [s["id"] for s in listed["sessions"] if not s["current"]]

    response = laptop.delete(
        f"{SESSIONS}/{phone_session}", headers=AuthActions.headers(laptop_token)
    )

    assert response.status_code == 200
    assert response.get_json() == {"message": "Session ended"}
    assert _me(phone, phone_token) == 401
    assert phone.post("/api/v1/auth/refresh-token").status_code == 401
    assert _me(laptop, laptop_token) == 200


def test_ending_the_calling_session_clears_its_refresh_cookie(app, user):
    laptop, laptop_token = _device(app, "Laptop/2.0")
    [current] = laptop.get(SESSIONS, headers=AuthActions.headers(laptop_token)).get_json()[
        "sessions"
    ]

    response = laptop.delete(
        f"{SESSIONS}/{current['id']}", headers=AuthActions.headers(laptop_token)
    )

    assert response.status_code == 200
    assert any(c.startswith("refreshToken=;") for c in response.headers.getlist("Set-Cookie"))
    assert _me(laptop, laptop_token) == 401


@pytest.mark.parametrize("whose", ["another user's", "an ended", "an unknown", "a malformed"])
def test_ending_a_session_that_is_not_a_live_one_of_yours_is_404(app, user, whose):
    laptop, laptop_token = _device(app, "Laptop/2.0")
    other = make_user(email="victim@example.com")
    app.test_client().post(
        "/api/v1/auth/login", json={"email": "victim@example.com", "password": PASSWORD}
    )
    victim_session = db.session.scalars(
        select(SignInSession.id).where(SignInSession.user_id == other.id)
    ).one()
    phone, phone_token = _device(app, "Phone/1.0")
    phone.post("/api/v1/auth/logout", headers=AuthActions.headers(phone_token))
    ended = db.session.scalars(
        select(SignInSession.id).where(
            SignInSession.user_id == user.id, SignInSession.revoked_at.is_not(None)
        )
    ).one()
    target = {
        "another user's": victim_session,
        "an ended": ended,
        "an unknown": "00000000-0000-0000-0000-000000000000",
        "a malformed": "x" * 300 + "%00",
    }[whose]

    response = laptop.delete(f"{SESSIONS}/{target}", headers=AuthActions.headers(laptop_token))

    assert response.status_code == 404
    assert response.get_json() == blog_error("NotFoundError", "Session not found.")
    db.session.expire_all()
    assert db.session.get(SignInSession, victim_session).revoked_at is None


def test_logout_all_ends_every_session_of_the_caller_only(app, user):
    phone, phone_token = _device(app, "Phone/1.0")
    laptop, laptop_token = _device(app, "Laptop/2.0")
    make_user(email="bystander@example.com")
    bystander = app.test_client()
    bystander_token = bystander.post(
        "/api/v1/auth/login", json={"email": "bystander@example.com", "password": PASSWORD}
    ).get_json()["accessToken"]

    response = laptop.post("/api/v1/auth/logout-all", headers=AuthActions.headers(laptop_token))

    assert response.status_code == 200
    assert response.get_json() == {"message": "Logged out of every session"}
    assert any(c.startswith("refreshToken=;") for c in response.headers.getlist("Set-Cookie"))
    assert (_me(phone, phone_token), _me(laptop, laptop_token)) == (401, 401)
    assert phone.post("/api/v1/auth/refresh-token").status_code == 401
    assert _me(bystander, bystander_token) == 200
    details = db.session.scalars(select(AuthEvent.details).where(AuthEvent.event == "logout")).all()
    assert {"via": "logout-all", "sessions": 2} in details


@pytest.mark.parametrize(
    "path", [SESSIONS, "/api/v1/auth/logout-all", "/api/v1/auth/change-password"]
)
def test_the_lifecycle_endpoints_need_an_access_token(client, path):
    method = client.get if path == SESSIONS else client.post

    response = method(path)

    assert response.status_code == 401
    assert response.get_json()["error"] == "AuthenticationError"


def test_change_password_keeps_this_session_and_ends_the_others(app, user):
    phone, phone_token = _device(app, "Phone/1.0")
    laptop, laptop_token = _device(app, "Laptop/2.0")

    response = laptop.post(
        "/api/v1/auth/change-password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        headers=AuthActions.headers(laptop_token),
    )

    assert response.status_code == 200
    assert response.get_json() == {"message": "Password changed successfully"}
    assert (_me(laptop, laptop_token), _me(phone, phone_token)) == (200, 401)
    assert laptop.post("/api/v1/auth/refresh-token").status_code == 200
    login = app.test_client().post(
        "/api/v1/auth/login", json={"email": "owner@example.com", "password": NEW_PASSWORD}
    )
    assert login.status_code == 200


def test_change_password_with_a_wrong_current_password_is_400_and_changes_nothing(app, user):
    phone, phone_token = _device(app, "Phone/1.0")
    laptop, laptop_token = _device(app, "Laptop/2.0")

    response = laptop.post(
        "/api/v1/auth/change-password",
        json={"currentPassword": "not my password", "newPassword": NEW_PASSWORD},
        headers=AuthActions.headers(laptop_token),
    )

    assert response.status_code == 400
    assert response.get_json() == blog_error("ValidationError", "Current password is incorrect.")
    assert _me(phone, phone_token) == 200
    assert _device(app, "Tablet/3.0")[1]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"newPassword": NEW_PASSWORD}, "currentPassword"),
        ({"currentPassword": PASSWORD}, "newPassword"),
        ({"currentPassword": PASSWORD, "newPassword": "password"}, "newPassword"),
        ({"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD, "role": "admin"}, "role"),
    ],
)
def test_change_password_names_the_field_it_refuses(app, user, body, field):
    laptop, laptop_token = _device(app, "Laptop/2.0")

    response = laptop.post(
        "/api/v1/auth/change-password", json=body, headers=AuthActions.headers(laptop_token)
    )

    assert response.status_code == 400
    assert response.get_json()["error"] == "ValidationError"
    assert field in response.get_json()["details"]


def test_a_blog_password_change_ends_the_users_sessions_in_every_dialect(app, user):
    laptop, laptop_token = _device(app, "Laptop/2.0")
    mobile = app.test_client()
    pair = mobile.post("/api/token/", json={"username": user.username, "password": PASSWORD})
    mobile_token = pair.get_json()["access"]

    laptop.post(
        "/api/v1/auth/change-password",
        json={"currentPassword": PASSWORD, "newPassword": NEW_PASSWORD},
        headers=AuthActions.headers(laptop_token),
    )

    assert (
        mobile.get("/api/users/me/", headers=AuthActions.headers(mobile_token)).status_code == 401
    )
    refreshed = mobile.post("/api/token/refresh/", json={"refresh": pair.get_json()["refresh"]})
    assert refreshed.status_code == 401
