"""The blog document's auth endpoints: register, login, refresh-token, logout."""

import pytest
from flask_jwt_extended import decode_token

from tests.factories import PASSWORD
from tests.factories import make_user
from tests.factories import unique_email
from tests.matchers import JWT
from tests.matchers import Matches
from tests.matchers import blog_error
from tests.matchers import blog_user
from tests.signing import signed_part

ANY_USERNAME = Matches(r"[A-Za-z0-9_.-]+")


def _set_cookie(response) -> str:
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("refreshToken=")]
    return cookie


def test_register_answers_201_with_token_user_and_refresh_cookie(auth):
    response = auth.register("New.Person@Example.com")

    assert response.status_code == 201
    assert response.get_json() == {
        "accessToken": JWT,
        "user": blog_user("new.person@example.com", "new.person"),
    }
    cookie = _set_cookie(response)
    assert "HttpOnly" in cookie
    assert "SameSite=Strict" in cookie
    assert "Path=/api/v1/auth" in cookie
    assert response.headers["Cache-Control"] == "no-store"


def test_register_derives_a_unique_username_when_the_local_part_is_taken(auth):
    auth.register("same@one.example")
    response = auth.register("same@two.example")

    assert response.get_json()["user"]["username"] == Matches(r"same\d+")


def test_register_as_admin_with_a_whitelisted_email_stays_a_user_until_verified(app, auth):
    """Registering an address does not prove the mailbox (the default)."""
    app.config["ADMIN_EMAIL_WHITELIST"] = ["boss@example.com"]

    response = auth.register("Boss@Example.com", role="admin")

    assert response.status_code == 201
    assert response.get_json()["user"]["role"] == "user"


def test_register_as_admin_with_a_whitelisted_email_makes_an_admin_when_mail_is_not_required(
    app, auth
):
    app.config["ADMIN_EMAIL_WHITELIST"] = ["boss@example.com"]
    app.config["AUTH_ADMIN_REQUIRES_VERIFIED_EMAIL"] = False

    response = auth.register("Boss@Example.com", role="admin")

    assert response.status_code == 201
    assert response.get_json()["user"]["role"] == "admin"


def test_register_as_admin_with_a_whitelist_table_entry_makes_an_admin(app, runner, auth):
    app.config["AUTH_ADMIN_REQUIRES_VERIFIED_EMAIL"] = False
    runner.invoke(args=["whitelist", "add", "chief@example.com"])

    response = auth.register("chief@example.com", role="admin")

    assert response.get_json()["user"]["role"] == "admin"


def test_register_as_admin_without_the_whitelist_is_403(auth):
    response = auth.register(unique_email(), role="admin")

    assert response.status_code == 403
    assert response.get_json() == blog_error("AuthorizationError", "Admin registration denied")


def test_register_with_a_taken_email_in_any_case_is_409(auth):
    auth.register("taken@example.com")

    response = auth.register("TAKEN@example.com")

    assert response.status_code == 409
    assert response.get_json() == blog_error("ConflictError", "Email is already registered.")


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({"password": PASSWORD}, {"email": ["Missing data for required field."]}),
        (
            {"email": "not-an-email", "password": PASSWORD},
            {"email": ["Not a valid email address."]},
        ),
        ({"email": "a@example.com"}, {"password": ["Missing data for required field."]}),
        (
            {"email": "a@example.com", "password": PASSWORD, "role": "root"},
            {"role": ["Must be one of: user, admin."]},
        ),
        (
            {"email": "a@example.com", "password": PASSWORD, "isAdmin": True},
            {"isAdmin": ["Unknown field."]},
        ),
        ({"email": 42, "password": PASSWORD}, {"email": ["Not a valid email address."]}),
    ],
)
def test_register_with_invalid_input_is_400_with_field_details(auth, client, body, details):
    response = client.post("/api/v1/auth/register", json=body)

    assert response.status_code == 400
    assert response.get_json() == blog_error("ValidationError", "Validation failed.", details)


def test_register_with_a_short_password_is_400(client):
    response = client.post(
        "/api/v1/auth/register", json={"email": "a@example.com", "password": "short"}
    )

    assert response.status_code == 400
    assert response.get_json() == blog_error(
        "ValidationError",
        "Password must be 8 to 128 characters long.",
        {"password": ["Password must be 8 to 128 characters long."]},
    )


def test_register_with_a_json_array_body_is_400(client):
    response = client.post("/api/v1/auth/register", json=["a@example.com"])

    assert response.status_code == 400
    assert response.get_json() == blog_error(
        "ValidationError", "The request body must be a JSON object."
    )


def test_login_answers_200_with_token_user_and_refresh_cookie(app_context, auth):
    user = make_user(email="reader@example.com")

    response = auth.login("Reader@Example.com")

    assert response.status_code == 200
    assert response.get_json() == {
        "accessToken": JWT,
        "user": blog_user("reader@example.com", user.username),
    }
    assert "HttpOnly" in _set_cookie(response)


def test_login_token_carries_the_documented_claims(app_context, auth):
    user = make_user(roles=("user", "admin"))

    token = auth.login(user.email).get_json()["accessToken"]
    claims = decode_token(token)

    assert claims["sub"] == str(user.id)
    assert claims["type"] == "access"
    assert claims["userId"] == user.id
    assert claims["username"] == user.username
    assert claims["roles"] == ["user", "admin"]
    assert claims["exp"] - claims["iat"] == 15 * 60
    assert {"jti", "sid", "nbf"} <= set(claims)


@pytest.mark.parametrize("email", ["reader@example.com", "nobody@example.com"])
def test_login_with_wrong_password_or_unknown_email_gives_one_identical_400(
    app_context, auth, email
):
    make_user(email="reader@example.com")

    response = auth.login(email, "wrong password")

    assert response.status_code == 400
    assert response.get_json() == blog_error("ValidationError", "Invalid email or password")
    assert "Set-Cookie" not in response.headers


def test_login_of_a_deactivated_account_is_refused_like_a_wrong_password(app_context, auth):
    user = make_user()
    user.is_active = False
    from app.database import db

    db.session.commit()

    response = auth.login(user.email)

    assert response.status_code == 400
    assert response.get_json() == blog_error("ValidationError", "Invalid email or password")


def test_login_with_a_missing_password_is_400(client):
    response = client.post("/api/v1/auth/login", json={"email": "a@example.com"})

    assert response.status_code == 400
    assert response.get_json() == blog_error(
        "ValidationError", "Validation failed.", {"password": ["Missing data for required field."]}
    )


def test_refresh_answers_200_with_a_new_access_token_and_rotates_the_cookie(auth):
    auth.register(unique_email())
    first_cookie = auth.refresh_cookie()

    response = auth.refresh()

    assert response.status_code == 200
    assert response.get_json() == {"accessToken": JWT}
    assert auth.refresh_cookie() not in (None, first_cookie)
    assert response.headers["Cache-Control"] == "no-store"


def test_refresh_access_token_authenticates(auth, client):
    auth.register(unique_email())

    token = auth.refresh().get_json()["accessToken"]

    assert client.get("/api/v1/users/current", headers=auth.headers(token)).status_code == 200


def test_refresh_without_the_cookie_is_400(client):
    response = client.post("/api/v1/auth/refresh-token")

    assert response.status_code == 400
    assert response.get_json() == blog_error(
        "ValidationError",
        "Refresh token cookie is missing",
        {"refreshToken": ["Missing refresh token cookie."]},
    )


def test_refresh_with_a_garbage_cookie_is_401(client):
    client.set_cookie("refreshToken", "not-a-jwt", path="/api/v1/auth")

    response = client.post("/api/v1/auth/refresh-token")

    assert response.status_code == 401
    assert response.get_json() == blog_error("AuthenticationError", "Invalid token")
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'


def test_refresh_with_an_access_token_in_the_cookie_is_401(auth, client):
    token = auth.register(unique_email()).get_json()["accessToken"]
    client.set_cookie("refreshToken", token, path="/api/v1/auth")

    response = client.post("/api/v1/auth/refresh-token")

    assert response.status_code == 401
    assert response.get_json() == blog_error("AuthenticationError", "Invalid token")


def test_refresh_with_a_spent_cookie_after_the_grace_window_revokes_the_session(app, auth, client):
    app.config["AUTH_REFRESH_REUSE_GRACE_SECONDS"] = 0
    token = auth.register(unique_email()).get_json()["accessToken"]
    spent = auth.refresh_cookie()
    auth.refresh()
    successor = auth.refresh_cookie()

    client.set_cookie("refreshToken", spent, path="/api/v1/auth")
    reuse = client.post("/api/v1/auth/refresh-token")
    client.set_cookie("refreshToken", successor, path="/api/v1/auth")
    after = client.post("/api/v1/auth/refresh-token")

    assert reuse.status_code == 401
    assert reuse.get_json() == blog_error(
        "AuthenticationError", "Refresh token was already used; the session has been revoked."
    )
    assert after.status_code == 401
    assert client.get("/api/v1/users/current", headers=auth.headers(token)).status_code == 401


def test_refresh_with_the_spent_cookie_inside_the_grace_window_yields_the_same_successor(
    auth, client
):
    auth.register(unique_email())
    spent = auth.refresh_cookie()
    auth.refresh()
    successor = auth.refresh_cookie()

    client.set_cookie("refreshToken", spent, path="/api/v1/auth")
    again = client.post("/api/v1/auth/refresh-token")

    assert again.status_code == 200
    assert signed_part(auth.refresh_cookie()) == signed_part(successor)
    assert auth.refresh().status_code == 200


def test_refresh_from_another_site_is_403(auth):
    auth.register(unique_email())

    response = auth.refresh(headers={"Origin": "https://evil.example"})

    assert response.status_code == 403
    assert response.get_json() == blog_error("AuthorizationError", "Cross-site request refused.")


def test_refresh_with_sec_fetch_site_cross_site_is_403(auth):
    auth.register(unique_email())

    response = auth.refresh(headers={"Sec-Fetch-Site": "cross-site"})

    assert response.status_code == 403


def test_refresh_from_a_configured_cors_origin_passes(app, auth):
    app.config["CORS_ORIGINS"] = ["https://spa.example"]
    auth.register(unique_email())

    response = auth.refresh(headers={"Origin": "https://spa.example"})

    assert response.status_code == 200


def test_logout_answers_200_clears_the_cookie_and_kills_both_tokens(auth, client):
    token = auth.register(unique_email()).get_json()["accessToken"]
    refresh_cookie = auth.refresh_cookie()

    response = auth.logout(token)

    assert response.status_code == 200
    assert response.get_json() == {"message": "Logged out successfully"}
    assert _set_cookie(response).startswith("refreshToken=;")
    assert "Max-Age=0" in _set_cookie(response)
    assert client.get("/api/v1/users/current", headers=auth.headers(token)).status_code == 401
    client.set_cookie("refreshToken", refresh_cookie, path="/api/v1/auth")
    assert client.post("/api/v1/auth/refresh-token").status_code == 401


def test_logout_without_the_refresh_cookie_is_400(auth, client):
    token = auth.register(unique_email()).get_json()["accessToken"]
    client.delete_cookie("refreshToken", path="/api/v1/auth")

    response = auth.logout(token)

    assert response.status_code == 400
    assert response.get_json()["error"] == "ValidationError"


def test_logout_without_an_access_token_is_401(client):
    response = client.post("/api/v1/auth/logout")

    assert response.status_code == 401
    assert response.get_json() == blog_error("AuthenticationError", "Access token is missing")


def test_logout_does_not_end_the_users_other_sessions(app_context, auth, client):
    user = make_user()
    other_token = auth.login(user.email).get_json()["accessToken"]
    token = auth.login(user.email).get_json()["accessToken"]

    auth.logout(token)

    assert client.get("/api/v1/users/current", headers=auth.headers(other_token)).status_code == 200
