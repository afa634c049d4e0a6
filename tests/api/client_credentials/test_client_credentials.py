"""specs/client-credentials.md, section by section."""

from datetime import timedelta

import pytest
from flask_jwt_extended import create_access_token

from app.core.models import ApiClient
from app.database import db
from tests.factories import make_client
from tests.factories import make_user
from tests.matchers import JWT

AUTH_FAILED = {"message": "Authentication failed. Check your access token and try again."}
NOT_PROVIDED = {"message": "Authorization is not provided."}
EXPIRED = {"message": "Token expired. Please try again."}
INVALID_CREDENTIALS = {"message": "Invalid client credentials."}


def _authenticate(client, client_id, client_key):
    return client.post("/auth", json={"clientId": client_id, "clientKey": client_key})


def _bearer(token):
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def credentials(app_context):
    return make_client("billing service")


@pytest.fixture
def client_token(client, credentials):
    return _authenticate(client, credentials.client_id, credentials.client_key).get_json()["data"][
        "accessToken"
    ]


def test_authenticating_example_response_200(client, credentials):
    response = _authenticate(client, credentials.client_id, credentials.client_key)

    assert response.status_code == 200
    assert response.get_json() == {
        "message": "Authenticated successfully.",
        "data": {"accessToken": JWT, "expiresIn": "1h"},
    }
    assert response.headers["Cache-Control"] == "no-store"


def test_expires_in_follows_the_configured_lifetime(app, client, credentials):
    app.config["AUTH_CLIENT_ACCESS_TOKEN_SECONDS"] = 15 * 60

    response = _authenticate(client, credentials.client_id, credentials.client_key)

    assert response.get_json()["data"]["expiresIn"] == "15m"


def test_unknown_client_id_and_wrong_key_answer_alike_401(client, credentials):
    wrong_key = _authenticate(client, credentials.client_id, "0" * 64)
    unknown_id = _authenticate(client, "f" * 32, credentials.client_key)

    assert wrong_key.status_code == unknown_id.status_code == 401
    assert wrong_key.get_json() == unknown_id.get_json() == INVALID_CREDENTIALS


def test_a_deactivated_client_cannot_authenticate(client, credentials):
    api_client = db.session.scalars(
        db.select(ApiClient).where(ApiClient.client_id == credentials.client_id)
    ).one()
    api_client.is_active = False
    db.session.commit()

    response = _authenticate(client, credentials.client_id, credentials.client_key)

    assert response.status_code == 401
    assert response.get_json() == INVALID_CREDENTIALS


def test_authenticating_without_client_key_is_400(client):
    response = client.post("/auth", json={"clientId": "abc"})

    assert response.status_code == 400
    assert response.get_json() == {
        "message": "clientId and clientKey are required.",
        "errors": {"clientKey": ["Missing data for required field."]},
    }


def test_using_token_for_authorization_verifies_the_client(client, client_token, credentials):
    response = client.get("/auth", headers=_bearer(client_token))

    assert response.status_code == 200
    assert response.get_json() == {
        "message": "Authenticated.",
        "data": {"clientId": credentials.client_id, "name": "billing service"},
    }


def test_example_response_401_authorization_is_not_provided(client):
    response = client.get("/auth")

    assert response.status_code == 401
    assert response.get_json() == NOT_PROVIDED


@pytest.mark.parametrize("authorization", ["Bearer garbage", "Basic abc", "Bearer "])
def test_example_response_401_authentication_failed(client, authorization):
    response = client.get("/auth", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.get_json() == AUTH_FAILED


def test_example_response_401_token_expired(client, credentials):
    expired = create_access_token(
        identity=credentials.client_id,
        expires_delta=timedelta(seconds=-5),
        additional_claims={"type": "client", "clientId": credentials.client_id},
    )

    response = client.get("/auth", headers=_bearer(expired))

    assert response.status_code == 401
    assert response.get_json() == EXPIRED


def test_a_user_access_token_is_not_a_client_token(client, auth):
    user_token = auth.register("person@example.com").get_json()["accessToken"]

    response = client.get("/auth", headers=_bearer(user_token))

    assert response.status_code == 401
    assert response.get_json() == AUTH_FAILED


@pytest.mark.parametrize(
    "path", ["/api/v1/users/current", "/auth/me", "/api/auth/check", "/api/users/me/"]
)
def test_a_client_token_is_refused_by_every_user_endpoint(client, client_token, path):
    make_user()

    response = client.get(path, headers=_bearer(client_token))

    assert response.status_code == 401
