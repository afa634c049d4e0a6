"""The four other documents end to end through gunicorn, all five dialects mounted at once."""

import json

import pytest

from tests.e2e import http

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(start_server):
    server = start_server()
    server.create_user("john.doe", password="securePassword123", client_id=456)
    return server


def test_cmg_login_me_refresh_logout(server):
    login = http.post(
        f"{server.url}/auth/login", json={"username": "john.doe", "password": "securePassword123"}
    )
    token = login.json()["access_token"]
    me = http.get(f"{server.url}/auth/me", headers={"Authorization": f"Bearer {token}"})
    refreshed = http.post(
        f"{server.url}/auth/refresh", cookies={"refresh_token": login.cookies["refresh_token"]}
    )
    logout = http.post(f"{server.url}/auth/logout", headers={"Authorization": f"Bearer {token}"})
    after = http.get(f"{server.url}/auth/me", headers={"Authorization": f"Bearer {token}"})

    assert login.json()["expires_in"] == 900
    assert me.json()["clientId"] == 456
    assert refreshed.status_code == 200
    assert refreshed.cookies["refresh_token"] != login.cookies["refresh_token"]
    assert logout.json() == {"message": "Logged out successfully"}
    assert after.json() == {"statusCode": 401, "message": "Invalid token", "error": "Unauthorized"}


def test_client_credentials_from_the_cli_authenticate_and_verify(server):
    credentials = json.loads(server.flask("clients", "create", "reporting").stdout)

    issued = http.post(f"{server.url}/auth", json=credentials)
    token = issued.json()["data"]["accessToken"]
    verified = http.get(f"{server.url}/auth", headers={"Authorization": f"Bearer {token}"})
    as_user = http.get(f"{server.url}/auth/me", headers={"Authorization": f"Bearer {token}"})

    assert issued.json()["data"]["expiresIn"] == "1h"
    assert verified.json()["data"]["clientId"] == credentials["clientId"]
    assert as_user.status_code == 401


def test_staff_login_check_change_password_logout(server):
    login = http.post(
        f"{server.url}/api/auth/login",
        json={"username": "john.doe", "password": "securePassword123"},
    )
    bearer = {"Authorization": f"Bearer {login.json()['token']}"}
    check = http.get(f"{server.url}/api/auth/check", headers=bearer)
    changed = http.post(
        f"{server.url}/api/auth/change-password",
        json={"currentPassword": "securePassword123", "newPassword": "newpassword456"},
        headers=bearer,
    )
    logout = http.post(f"{server.url}/api/auth/logout", headers=bearer)
    after = http.get(f"{server.url}/api/auth/check", headers=bearer)

    assert check.json()["authenticated"] is True
    assert changed.json() == {"success": True}
    assert logout.json() == {"success": True}
    assert after.status_code == 401
    assert after.json() == {"authenticated": False}


def test_token_pair_obtain_refresh_me_blacklist(server):
    pair = http.post(
        f"{server.url}/api/token/", json={"username": "john.doe", "password": "securePassword123"}
    ).json()
    refreshed = http.post(f"{server.url}/api/token/refresh/", json={"refresh": pair["refresh"]})
    new_pair = refreshed.json()
    me = http.get(
        f"{server.url}/api/users/me/", headers={"Authorization": f"Bearer {new_pair['access']}"}
    )
    blacklisted = http.post(
        f"{server.url}/api/token/blacklist/", json={"refresh": new_pair["refresh"]}
    )
    after = http.post(f"{server.url}/api/token/verify/", json={"token": new_pair["access"]})

    assert set(new_pair) == {"access", "refresh"}
    assert me.json()["username"] == "john.doe"
    assert blacklisted.json() == {}
    assert after.status_code == 401
    assert after.json() == {"detail": "Token is invalid or expired", "code": "token_not_valid"}
