"""specs/token-pair.md, section by section."""

from datetime import timedelta

import pytest
from flask_jwt_extended import decode_token

from app.core.clock import utcnow
from app.core.tokens.tokens import mint_access_token
from tests.factories import PASSWORD
from tests.factories import make_user
from tests.matchers import JWT
from tests.signing import signed_part

TOKEN_NOT_VALID = {"detail": "Token is invalid or expired", "code": "token_not_valid"}
NO_CREDENTIALS = {"detail": "Authentication credentials were not provided."}


def _obtain(client, username, password=PASSWORD):
    return client.post("/api/token/", json={"username": username, "password": password})


def _refresh(client, refresh):
    return client.post("/api/token/refresh/", json={"refresh": refresh})


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def pair(app_context, client):
    make_user(username="your_username")
    return _obtain(client, "your_username").get_json()


def test_request_access_token_successful_response(app_context, client):
    make_user(username="your_username")

    response = _obtain(client, "your_username")

    assert response.status_code == 200
    assert response.get_json() == {"refresh": JWT, "access": JWT}
    assert "Set-Cookie" not in response.headers


def test_token_expiration_access_5_minutes_refresh_24_hours(pair):
    access, refresh = decode_token(pair["access"]), decode_token(pair["refresh"])

    assert access["exp"] - access["iat"] == 5 * 60
    assert refresh["exp"] - refresh["iat"] == 24 * 3600


def test_token_expiration_is_configurable(app, app_context, client):
    app.config["AUTH_TOKEN_PAIR_ACCESS_TOKEN_SECONDS"] = 60
    make_user(username="your_username")

    access = decode_token(_obtain(client, "your_username").get_json()["access"])

    assert access["exp"] - access["iat"] == 60


@pytest.mark.parametrize("username", ["your_username", "unknown_user"])
def test_error_responses_invalid_credentials_401(pair, client, username):
    response = _obtain(client, username, "wrong password")

    assert response.status_code == 401
    assert response.get_json() == {"detail": "No active account found with the given credentials"}


@pytest.mark.parametrize(
    ("body", "errors"),
    [
        ({"username": "your_username"}, {"password": ["This field is required."]}),
        ({"password": PASSWORD}, {"username": ["This field is required."]}),
        ({}, {"username": ["This field is required."], "password": ["This field is required."]}),
        ({"username": "", "password": PASSWORD}, {"username": ["This field may not be blank."]}),
        ({"username": None, "password": PASSWORD}, {"username": ["This field may not be null."]}),
    ],
)
def test_obtaining_with_missing_fields_gives_drf_field_errors(client, body, errors):
    response = client.post("/api/token/", json=body)

    assert response.status_code == 400
    assert response.get_json() == errors


def test_refreshing_tokens_returns_a_new_pair_and_spends_the_old_refresh(app, pair, client):
    app.config["AUTH_REFRESH_REUSE_GRACE_SECONDS"] = 0

    response = _refresh(client, pair["refresh"])
    reuse = _refresh(client, pair["refresh"])

    assert response.status_code == 200
    assert response.get_json() == {"access": JWT, "refresh": JWT}
    assert response.get_json()["refresh"] != pair["refresh"]
    assert reuse.status_code == 401
    assert reuse.get_json() == TOKEN_NOT_VALID


def test_reusing_a_spent_refresh_token_revokes_the_family(app, pair, client):
    app.config["AUTH_REFRESH_REUSE_GRACE_SECONDS"] = 0
    successor = _refresh(client, pair["refresh"]).get_json()

    _refresh(client, pair["refresh"])

    assert _refresh(client, successor["refresh"]).get_json() == TOKEN_NOT_VALID
    assert client.get("/api/users/me/", headers=_bearer(successor["access"])).status_code == 401


def test_refreshing_with_the_spent_token_inside_the_grace_window_repeats_the_successor(
    pair, client
):
    first = _refresh(client, pair["refresh"]).get_json()
    again = _refresh(client, pair["refresh"]).get_json()

    assert signed_part(again["refresh"]) == signed_part(first["refresh"])


@pytest.mark.parametrize("refresh", ["garbage", "a.b.c"])
def test_error_responses_token_expired_or_invalid_401_on_refresh(client, refresh):
    response = _refresh(client, refresh)

    assert response.status_code == 401
    assert response.get_json() == TOKEN_NOT_VALID


def test_refreshing_with_an_access_token_is_401(pair, client):
    assert _refresh(client, pair["access"]).get_json() == TOKEN_NOT_VALID


def test_refreshing_without_refresh_is_400(client):
    response = client.post("/api/token/refresh/", json={})

    assert response.status_code == 400
    assert response.get_json() == {"refresh": ["This field is required."]}


def test_using_the_access_token_on_users_me(pair, client):
    response = client.get("/api/users/me/", headers=_bearer(pair["access"]))

    assert response.status_code == 200
    body = response.get_json()
    assert body["username"] == "your_username"
    assert set(body) == {"id", "username", "email", "first_name", "last_name", "roles"}


def test_error_responses_missing_token_401(client):
    response = client.get("/api/users/me/")

    assert response.status_code == 401
    assert response.get_json() == NO_CREDENTIALS


def test_error_responses_token_expired_401(app_context, client):
    user = make_user(username="your_username")
    live = _obtain(client, "your_username").get_json()["access"]
    expired = mint_access_token(
        user=user,
        session_id=decode_token(live)["sid"],
        ttl=timedelta(seconds=-5),
        auth_time=utcnow(),
    )

    response = client.get("/api/users/me/", headers=_bearer(expired))

    assert response.status_code == 401
    assert response.get_json() == TOKEN_NOT_VALID


@pytest.mark.parametrize("kind", ["access", "refresh"])
def test_verify_returns_200_empty_for_a_live_token(pair, client, kind):
    response = client.post("/api/token/verify/", json={"token": pair[kind]})

    assert response.status_code == 200
    assert response.get_json() == {}


@pytest.mark.parametrize("token", ["garbage", "eyJ.eyJ.sig"])
def test_verify_returns_401_for_a_bad_token(client, token):
    response = client.post("/api/token/verify/", json={"token": token})

    assert response.status_code == 401
    assert response.get_json() == TOKEN_NOT_VALID


def test_verify_refuses_a_rotated_refresh_token(pair, client):
    _refresh(client, pair["refresh"])

    response = client.post("/api/token/verify/", json={"token": pair["refresh"]})

    assert response.get_json() == TOKEN_NOT_VALID


def test_blacklist_revokes_the_refresh_token_and_its_session(pair, client):
    response = client.post("/api/token/blacklist/", json={"refresh": pair["refresh"]})

    assert response.status_code == 200
    assert response.get_json() == {}
    assert _refresh(client, pair["refresh"]).get_json() == TOKEN_NOT_VALID
    assert client.get("/api/users/me/", headers=_bearer(pair["access"])).status_code == 401
    again = client.post("/api/token/blacklist/", json={"refresh": pair["refresh"]})
    assert again.status_code == 401
    assert again.get_json() == TOKEN_NOT_VALID


def test_wrong_method_is_a_drf_405(client):
    response = client.get("/api/token/")

    assert response.status_code == 405
    assert response.get_json() == {"detail": 'Method "GET" not allowed.'}


def test_non_json_body_is_a_drf_415(client):
    response = client.post("/api/token/", data="username=x", content_type="text/plain")

    assert response.status_code == 415
    assert response.get_json() == {"detail": 'Unsupported media type "text/plain" in request.'}


def test_paths_without_the_trailing_slash_answer_directly(pair, client):
    response = client.post("/api/token/verify", json={"token": pair["access"]})

    assert response.status_code == 200
    assert response.get_json() == {}
