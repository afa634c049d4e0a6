"""specs/staff.md, section by section."""

from datetime import timedelta

import pytest
from flask_jwt_extended import decode_token

from app.core import roles
from app.core.clock import utcnow
from app.core.tokens.tokens import mint_access_token
from tests.factories import PASSWORD
from tests.factories import make_client
from tests.factories import make_user
from tests.matchers import JWT

NOT_AUTHENTICATED = {"authenticated": False}


def _login(client, username, password=PASSWORD):
    return client.post("/api/auth/login", json={"username": username, "password": password})


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def staff_admin(app_context):
    roles.create_role(name="editor", permissions=["news:read", "news:write"])
    roles.create_role(name="operator", permissions=["actions:read", "actions:write"])
    return make_user(
        username="admin",
        email="admin@example.com",
        display_name="Admin User",
        roles=("admin", "editor"),
    )


def test_post_login_success_response_200(client, staff_admin):
    response = _login(client, "admin")

    assert response.status_code == 200
    assert response.get_json() == {
        "token": JWT,
        "user": {"id": staff_admin.id, "username": "admin", "roles": ["admin", "editor"]},
    }


def test_jwt_token_details_payload_and_seven_day_expiry(client, staff_admin):
    token = _login(client, "admin").get_json()["token"]
    claims = decode_token(token)

    assert claims["userId"] == staff_admin.id
    assert claims["username"] == "admin"
    assert claims["roles"] == ["admin", "editor"]
    assert claims["exp"] - claims["iat"] == 7 * 24 * 3600
    assert "Set-Cookie" not in _login(client, "admin").headers


@pytest.mark.parametrize("username", ["admin", "ghost"])
def test_post_login_error_401_invalid_credentials(client, staff_admin, username):
    response = _login(client, username, "wrong password")

    assert response.status_code == 401
    assert response.get_json() == {"error": "Invalid credentials"}


def test_post_login_error_500_login_failed(client, monkeypatch):
    from app.core.signin import authentication

    def broken(**_kwargs):
        raise RuntimeError("database exploded")

    monkeypatch.setattr(authentication, "authenticate", broken)

    response = _login(client, "admin")

    assert response.status_code == 500
    # The documents' body, and the request's id beside it (issue 32: every 5xx names it).
    assert response.get_json() == {
        "error": "Login failed",
        "requestId": response.headers["X-Request-ID"],
    }


def test_post_login_without_password_is_400(client):
    response = client.post("/api/auth/login", json={"username": "admin"})

    assert response.status_code == 400
    assert response.get_json() == {"error": "Password is required."}


def test_get_check_success_response_200(client, staff_admin):
    token = _login(client, "admin").get_json()["token"]

    response = client.get("/api/auth/check", headers=_bearer(token))

    assert response.status_code == 200
    assert response.get_json() == {
        "authenticated": True,
        "user": {
            "id": staff_admin.id,
            "username": "admin",
            "email": "admin@example.com",
            "displayName": "Admin User",
            "roles": ["admin", "editor"],
            "permissions": [
                "actions:read",
                "actions:write",
                "news:read",
                "news:write",
                "users:read",
                "users:write",
            ],
        },
    }


def test_get_check_permissions_are_the_union_of_the_roles(client, staff_admin):
    make_user(username="operator1", roles=("operator", "editor"))
    token = _login(client, "operator1").get_json()["token"]

    user = client.get("/api/auth/check", headers=_bearer(token)).get_json()["user"]

    assert user["permissions"] == ["actions:read", "actions:write", "news:read", "news:write"]


def _expired_token(client, staff_admin):
    live = _login(client, "admin").get_json()["token"]
    return mint_access_token(
        user=staff_admin,
        session_id=decode_token(live)["sid"],
        ttl=timedelta(seconds=-5),
        auth_time=utcnow(),
    )


@pytest.mark.parametrize(
    "headers",
    [
        lambda client, user: {},
        lambda client, user: {"Authorization": "Bearer garbage"},
        lambda client, user: {"Authorization": "Basic YWRtaW46cGFzcw=="},
        lambda client, user: _bearer(_expired_token(client, user)),
    ],
    ids=["missing", "garbage", "not-bearer", "expired"],
)
def test_get_check_error_response_401_for_every_failure(client, staff_admin, headers):
    response = client.get("/api/auth/check", headers=headers(client, staff_admin))

    assert response.status_code == 401
    assert response.get_json() == NOT_AUTHENTICATED


def test_get_check_with_a_client_token_is_401_not_authenticated(client, app_context):
    credentials = make_client()
    token = client.post(
        "/auth", json={"clientId": credentials.client_id, "clientKey": credentials.client_key}
    ).get_json()["data"]["accessToken"]

    response = client.get("/api/auth/check", headers=_bearer(token))

    assert response.status_code == 401
    assert response.get_json() == NOT_AUTHENTICATED


def test_post_logout_success_and_the_token_is_revoked_server_side(client, staff_admin):
    token = _login(client, "admin").get_json()["token"]

    response = client.post("/api/auth/logout", headers=_bearer(token))

    assert response.status_code == 200
    assert response.get_json() == {"success": True}
    assert client.get("/api/auth/check", headers=_bearer(token)).get_json() == NOT_AUTHENTICATED


def test_post_logout_without_a_token_is_401_unauthorized(client):
    response = client.post("/api/auth/logout")

    assert response.status_code == 401
    assert response.get_json() == {"error": "Unauthorized"}


def _change_password(client, token, current=PASSWORD, new="a fresh passphrase"):
    return client.post(
        "/api/auth/change-password",
        json={"currentPassword": current, "newPassword": new},
        headers=_bearer(token),
    )


def test_post_change_password_success_keeps_this_session_and_ends_the_others(client, staff_admin):
    other_device = _login(client, "admin").get_json()["token"]
    token = _login(client, "admin").get_json()["token"]

    response = _change_password(client, token)

    assert response.status_code == 200
    assert response.get_json() == {"success": True}
    assert client.get("/api/auth/check", headers=_bearer(token)).status_code == 200
    assert client.get("/api/auth/check", headers=_bearer(other_device)).status_code == 401
    assert _login(client, "admin", "a fresh passphrase").status_code == 200
    assert _login(client, "admin").status_code == 401


def test_post_change_password_error_400_current_password_is_incorrect(client, staff_admin):
    token = _login(client, "admin").get_json()["token"]

    response = _change_password(client, token, current="not my password")

    assert response.status_code == 400
    assert response.get_json() == {"error": "Current password is incorrect"}


def test_post_change_password_error_401_unauthorized(client):
    response = client.post(
        "/api/auth/change-password", json={"currentPassword": "a", "newPassword": "b"}
    )

    assert response.status_code == 401
    assert response.get_json() == {"error": "Unauthorized"}


def test_post_change_password_error_500_failed_to_change_password(client, staff_admin, monkeypatch):
    from app.core.accounts import accounts

    token = _login(client, "admin").get_json()["token"]

    def broken(**_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(accounts, "change_password", broken)

    response = _change_password(client, token)

    assert response.status_code == 500
    # The documents' body, and the request's id beside it (issue 32: every 5xx names it).
    assert response.get_json() == {
        "error": "Failed to change password",
        "requestId": response.headers["X-Request-ID"],
    }


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ({"newPassword": "long enough pw"}, "Current password is required."),
        ({"currentPassword": PASSWORD}, "New password is required."),
        ({"currentPassword": PASSWORD, "newPassword": "short"},
         "Password must be 8 to 128 characters long."),
    ],
)  # fmt: skip
def test_post_change_password_with_invalid_input_is_400(client, staff_admin, body, error):
    token = _login(client, "admin").get_json()["token"]

    response = client.post("/api/auth/change-password", json=body, headers=_bearer(token))

    assert response.status_code == 400
    assert response.get_json() == {"error": error}
