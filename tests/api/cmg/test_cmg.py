"""specs/cmg.md, section by section."""

from datetime import timedelta

import pytest
from flask_jwt_extended import decode_token

from app.core.clock import utcnow
from app.core.tokens.tokens import mint_access_token
from tests.factories import PASSWORD
from tests.factories import make_admin
from tests.factories import make_user
from tests.matchers import JWT
from tests.matchers import TIMESTAMP


def _login(client, username, password=PASSWORD):
    return client.post("/auth/login", json={"username": username, "password": password})


def _cookie_header(response):
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("refresh_token=")]
    return cookie


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


def cmg_error(status, message, error):
    return {"statusCode": status, "message": message, "error": error}


def test_login_endpoint_response_200(app_context, client):
    user = make_user(username="john.doe")

    response = _login(client, "john.doe")

    assert response.status_code == 200
    assert response.get_json() == {"access_token": JWT, "expires_in": 900}
    cookie = _cookie_header(response)
    assert all(flag in cookie for flag in ("HttpOnly", "SameSite=Strict", "Path=/auth"))
    assert decode_token(response.get_json()["access_token"])["sub"] == str(user.id)


def test_login_endpoint_accepts_an_email_as_username(app_context, client):
    make_user(email="john.doe@example.com")

    assert _login(client, "John.Doe@example.com").status_code == 200


@pytest.mark.parametrize("username", ["john.doe", "nobody.here"])
def test_error_responses_invalid_credentials_401(app_context, client, username):
    make_user(username="john.doe")

    response = _login(client, username, "wrong password")

    assert response.status_code == 401
    assert response.get_json() == cmg_error(401, "Invalid username or password", "Unauthorized")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"password": PASSWORD}, "username: Missing data for required field."),
        ({"username": "john.doe"}, "password: Missing data for required field."),
        ({"username": "", "password": PASSWORD}, "username: Must be 1 to 254 characters."),
    ],
)
def test_login_with_invalid_input_is_400_bad_request(client, body, message):
    response = client.post("/auth/login", json=body)

    assert response.status_code == 400
    assert response.get_json() == cmg_error(400, message, "Bad Request")


def test_refresh_token_flow_response_200_rotates_the_cookie(app_context, client):
    make_user(username="john.doe")
    first = _cookie_header(_login(client, "john.doe"))

    response = client.post("/auth/refresh")

    assert response.status_code == 200
    assert response.get_json() == {"access_token": JWT, "expires_in": 900}
    assert _cookie_header(response) != first


def test_refresh_without_the_cookie_is_401(client):
    response = client.post("/auth/refresh")

    assert response.status_code == 401
    assert response.get_json() == cmg_error(401, "Refresh token missing", "Unauthorized")


def test_refresh_from_another_site_is_403_forbidden(app_context, client):
    make_user(username="john.doe")
    _login(client, "john.doe")

    response = client.post("/auth/refresh", headers={"Origin": "https://evil.example"})

    assert response.status_code == 403
    assert response.get_json() == cmg_error(
        403, "You don't have permission to access this resource", "Forbidden"
    )


def test_get_current_user_response_200(app_context, client):
    user = make_user(username="john.doe", email="john.doe@example.com", client_id=456)
    token = _login(client, "john.doe").get_json()["access_token"]

    response = client.get("/auth/me", headers=_bearer(token))

    assert response.status_code == 200
    assert response.get_json() == {
        "id": user.id,
        "username": "john.doe",
        "email": "john.doe@example.com",
        "role": "USER",
        "clientId": 456,
        "createdAt": TIMESTAMP,
    }


def test_get_current_user_shows_admin_as_ADMIN(app_context, client):
    admin = make_admin()
    token = _login(client, admin.username).get_json()["access_token"]

    assert client.get("/auth/me", headers=_bearer(token)).get_json()["role"] == "ADMIN"


def test_error_responses_token_expired_401(app_context, client):
    user = make_user()
    live = _login(client, user.username).get_json()["access_token"]
    expired = mint_access_token(
        user=user,
        session_id=decode_token(live)["sid"],
        ttl=timedelta(seconds=-5),
        auth_time=utcnow(),
    )

    response = client.get("/auth/me", headers=_bearer(expired))

    assert response.status_code == 401
    assert response.get_json() == cmg_error(401, "Token expired", "Unauthorized")


@pytest.mark.parametrize("token", ["garbage", "a.b.c"])
def test_error_responses_token_invalid_401(client, token):
    response = client.get("/auth/me", headers=_bearer(token))

    assert response.status_code == 401
    assert response.get_json() == cmg_error(401, "Invalid token", "Unauthorized")


def test_error_responses_missing_token_401(client):
    response = client.get("/auth/me")

    assert response.status_code == 401
    assert response.get_json() == cmg_error(401, "Authorization header missing", "Unauthorized")


def test_logout_response_200_revokes_the_token_and_clears_the_cookie(app_context, client):
    make_user(username="john.doe")
    token = _login(client, "john.doe").get_json()["access_token"]

    response = client.post("/auth/logout", headers=_bearer(token))

    assert response.status_code == 200
    assert response.get_json() == {"message": "Logged out successfully"}
    assert "Max-Age=0" in _cookie_header(response)
    after = client.get("/auth/me", headers=_bearer(token))
    assert after.status_code == 401
    assert after.get_json() == cmg_error(401, "Invalid token", "Unauthorized")


def test_after_logout_the_refresh_cookie_is_dead(app_context, client):
    make_user(username="john.doe")
    login = _login(client, "john.doe")
    cookie_value = client.get_cookie("refresh_token", path="/auth").value

    client.post("/auth/logout", headers=_bearer(login.get_json()["access_token"]))
    client.set_cookie("refresh_token", cookie_value, path="/auth")

    assert client.post("/auth/refresh").status_code == 401


def test_unknown_cmg_route_is_404_in_cmg_format(client):
    response = client.get("/auth/nothing")

    assert response.status_code == 404
    assert response.get_json() == cmg_error(
        404, "The requested URL was not found on this server.", "Not Found"
    )
