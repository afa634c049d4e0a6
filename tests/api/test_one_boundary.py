"""One authentication boundary: a team's own ``@jwt_required()`` view and the service's own
guard accept and refuse the same tokens, for the same reasons, with the same answer."""

import base64
import json
import time
from collections.abc import Callable

import jwt as pyjwt
import pytest
from flask import Blueprint
from flask import jsonify
from flask_jwt_extended import current_user
from flask_jwt_extended import decode_token
from flask_jwt_extended import get_jwt
from flask_jwt_extended import jwt_required

from app.api.auth import access_token_required
from app.api.auth import current_caller
from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_admin
from tests.factories import make_client
from tests.factories import make_user
from tests.signing import sign_as_service

team = Blueprint("team", __name__, url_prefix="/team")


@team.get("/fjwt")
@jwt_required()
def with_flask_jwt_extended():
    return jsonify({"sid": get_jwt()["sid"], "user": current_user.username})


@team.get("/guard")
@access_token_required
def with_the_services_guard():
    return jsonify({"sid": current_caller.session_id, "user": current_caller.user.username})


@pytest.fixture
def team_app(app):
    app.register_blueprint(team)
    return app


def _unverified(token: str) -> dict:
    return pyjwt.decode(token, options={"verify_signature": False})


def _blog_login(client, user) -> dict:
    return client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
    ).get_json()


def _valid(client, user) -> str:
    return _blog_login(client, user)["accessToken"]


def _each_face(client, user) -> str:
    return client.post(
        "/api/auth/login", json={"username": user.username, "password": PASSWORD}
    ).get_json()["token"]


def _token_pair_access(client, user) -> str:
    return client.post(
        "/api/token/", json={"username": user.username, "password": PASSWORD}
    ).get_json()["access"]


def _expired(client, user) -> str:
    now = int(time.time())
    claims = _unverified(_valid(client, user))
    return sign_as_service(claims | {"iat": now - 1000, "nbf": now - 1000, "exp": now - 10})


def _logged_out(client, user) -> str:
    token = _valid(client, user)
    client.post("/api/v1/auth/logout", headers={"Authorization": f"Bearer {token}"})
    return token


def _staff_logged_out(client, user) -> str:
    token = _each_face(client, user)
    client.post("/api/auth/logout", headers={"Authorization": f"Bearer {token}"})
    return token


def _as_admin(client, method: str, user) -> None:
    admin = make_admin()
    bearer = {"Authorization": f"Bearer {_valid(client, admin)}"}
    if method == "delete":
        client.delete(f"/api/v1/users/{user.id}", headers=bearer)
    else:
        client.patch(f"/api/v1/users/{user.id}", json={"isActive": False}, headers=bearer)


def _deactivated(client, user) -> str:
    token = _valid(client, user)
    _as_admin(client, "patch", user)
    return token


def _deleted(client, user) -> str:
    token = _valid(client, user)
    _as_admin(client, "delete", user)
    return token


def _refresh(client, user) -> str:
    return client.post(
        "/api/token/", json={"username": user.username, "password": PASSWORD}
    ).get_json()["refresh"]


def _client_token(client, _user) -> str:
    credentials = make_client()
    return client.post(
        "/auth", json={"clientId": credentials.client_id, "clientKey": credentials.client_key}
    ).get_json()["data"]["accessToken"]


def _wrong_key(client, user) -> str:
    return pyjwt.encode(_unverified(_valid(client, user)), "k" * 64, algorithm="HS256")


def _undecodable_header(client, user) -> str:
    """The case that gave flask-jwt-extended's own 422 with the parser's words."""
    _header, payload, signature = _valid(client, user).split(".")
    garbage = base64.urlsafe_b64encode(b"\xff\xfe{").rstrip(b"=").decode()
    return f"{garbage}.{payload}.{signature}"


def _absurd_exp(client, user) -> str:
    return sign_as_service(_unverified(_valid(client, user)) | {"exp": 10**20})


def _unsigned(client, user) -> str:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none"}).encode()).rstrip(b"=")
    payload = base64.urlsafe_b64encode(json.dumps(_unverified(_valid(client, user))).encode())
    return f"{header.decode()}.{payload.rstrip(b'=').decode()}."


CORPUS: dict[str, Callable] = {
    "valid": _valid,
    "valid-staff": _each_face,
    "valid-token-pair": _token_pair_access,
    "expired": _expired,
    "revoked-session": _logged_out,
    "revoked-token": _staff_logged_out,
    "deactivated-user": _deactivated,
    "deleted-user": _deleted,
    "refresh": _refresh,
    "client": _client_token,
    "wrong-key": _wrong_key,
    "malformed": lambda _client, _user: "not.a.token",
    "undecodable-header": _undecodable_header,
    "absurd-claims": _absurd_exp,
    "alg-none": _unsigned,
}


@pytest.mark.parametrize("kind", CORPUS)
def test_both_paths_reach_the_same_verdict(team_app, app_context, client, kind):
    user = make_user()
    token = CORPUS[kind](client, user)
    db.session.remove()
    bearer = {"Authorization": f"Bearer {token}"}

    through_flask_jwt_extended = client.get("/team/fjwt", headers=bearer)
    through_the_guard = client.get("/team/guard", headers=bearer)

    assert through_flask_jwt_extended.status_code == through_the_guard.status_code
    assert through_flask_jwt_extended.get_json() == through_the_guard.get_json()
    assert through_the_guard.status_code == (200 if kind.startswith("valid") else 401)


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "Basic dXNlcjpwYXNz"}, {"Authorization": "Bearer"}],
    ids=["missing", "another-scheme", "no-token"],
)
def test_both_paths_answer_a_missing_or_misshapen_header_alike(team_app, client, headers):
    through_flask_jwt_extended = client.get("/team/fjwt", headers=headers)
    through_the_guard = client.get("/team/guard", headers=headers)

    assert through_flask_jwt_extended.status_code == through_the_guard.status_code == 401
    assert through_flask_jwt_extended.get_json() == through_the_guard.get_json()


def test_outside_every_dialect_the_error_body_is_the_neutral_one(team_app, client):
    response = client.get("/team/fjwt", headers={"Authorization": "Bearer not.a.token"})

    assert response.get_json() == {"error": "token_invalid", "message": "Invalid token."}


def test_under_a_dialects_prefix_the_dialect_answers(app, client):
    """A team view mounted under /api/v1/ answers in the blog's error format."""
    extra = Blueprint("team_blog", __name__, url_prefix="/api/v1/team")
    extra.add_url_rule("/me", "me", jwt_required()(lambda: jsonify({})))
    app.register_blueprint(extra)

    response = client.get("/api/v1/team/me", headers={"Authorization": "Bearer not.a.token"})

    assert response.status_code == 401
    assert response.get_json() == {
        "error": "AuthenticationError",
        "message": "Invalid token",
        "details": {},
    }


def test_current_user_is_the_caller_read_once_on_this_request(team_app, app_context, client):
    user = make_user()
    token = _valid(client, user)

    response = client.get("/team/fjwt", headers={"Authorization": f"Bearer {token}"})

    assert response.get_json() == {"sid": decode_token(token)["sid"], "user": user.username}
