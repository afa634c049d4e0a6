"""The blog users endpoints: the current user, and the admin-only user management."""

from datetime import timedelta

import pytest
from flask_jwt_extended import decode_token

from app.core.clock import utcnow
from app.core.models import User
from app.core.tokens.tokens import mint_access_token
from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_admin
from tests.factories import make_user
from tests.matchers import DIGITS
from tests.matchers import TIMESTAMP
from tests.matchers import blog_error
from tests.matchers import blog_user


@pytest.fixture
def admin_token(app_context, auth):
    admin = make_admin()
    return auth.login(admin.email).get_json()["accessToken"]


@pytest.fixture
def user_token(app_context, auth):
    user = make_user()
    return auth.login(user.email).get_json()["accessToken"]


def test_current_user_returns_the_user_object(app_context, auth, client):
    user = make_user(email="me@example.com")
    token = auth.login(user.email).get_json()["accessToken"]

    response = client.get("/api/v1/users/current", headers=auth.headers(token))

    assert response.status_code == 200
    assert response.get_json() == blog_user("me@example.com", user.username)


def test_current_user_without_a_token_is_401(client):
    response = client.get("/api/v1/users/current")

    assert response.status_code == 401
    assert response.get_json() == blog_error("AuthenticationError", "Access token is missing")


@pytest.mark.parametrize(
    "authorization",
    ["Bearer not.a.jwt", "Bearer ", "Token abc", "Bearer a.b.c.d"],
)
def test_current_user_with_a_malformed_authorization_header_is_401(client, authorization):
    response = client.get("/api/v1/users/current", headers={"Authorization": authorization})

    assert response.status_code == 401
    assert response.get_json()["error"] == "AuthenticationError"


def test_current_user_with_an_expired_token_is_401_token_expired(app_context, auth, client):
    user = make_user()
    live_token = auth.login(user.email).get_json()["accessToken"]
    session_id = decode_token(live_token)["sid"]
    expired = mint_access_token(
        user=user, session_id=session_id, ttl=timedelta(seconds=-60), auth_time=utcnow()
    )

    response = client.get("/api/v1/users/current", headers=auth.headers(expired))

    assert response.status_code == 401
    assert response.get_json() == blog_error("AuthenticationError", "Token has expired")


def test_current_user_with_a_refresh_token_is_401(auth, client):
    auth.register("someone@example.com")

    response = client.get(
        "/api/v1/users/current", headers=auth.headers(auth.refresh_cookie() or "")
    )

    assert response.status_code == 401
    assert response.get_json() == blog_error("AuthenticationError", "Invalid token")


def test_list_users_returns_a_page_with_pagination(admin_token, auth, client):
    for _ in range(3):
        make_user()

    response = client.get("/api/v1/users?page=2&limit=3", headers=auth.headers(admin_token))

    assert response.status_code == 200
    body = response.get_json()
    assert body["pagination"] == {"page": 2, "limit": 3, "total": 4, "totalPages": 2}
    assert len(body["users"]) == 1
    assert body["users"][0] == {
        "_id": DIGITS,
        "email": body["users"][0]["email"],
        "username": body["users"][0]["username"],
        "role": "user",
        "firstName": None,
        "lastName": None,
        "displayName": None,
        "socialLinks": {},
        "locale": None,
        "emailVerified": False,
        "createdAt": TIMESTAMP,
        "updatedAt": TIMESTAMP,
        "isActive": True,
        "mfaLocked": False,
        "roles": ["user"],
        "lastSignInAt": None,
        "mfaEnabled": False,
    }


@pytest.mark.parametrize(
    ("query", "details"),
    [
        (
            "page=0",
            {"page": ["Must be greater than or equal to 1 and less than or equal to 1000000."]},
        ),
        (
            "limit=101",
            {"limit": ["Must be greater than or equal to 1 and less than or equal to 100."]},
        ),
        ("page=abc", {"page": ["Not a valid integer."]}),
        ("sort=email", {"sort": ["Unknown field."]}),
    ],
)
def test_list_users_with_bad_query_parameters_is_400(admin_token, auth, client, query, details):
    response = client.get(f"/api/v1/users?{query}", headers=auth.headers(admin_token))

    assert response.status_code == 400
    assert response.get_json() == blog_error("ValidationError", "Validation failed.", details)


def test_list_users_as_a_plain_user_is_403(user_token, auth, client):
    response = client.get("/api/v1/users", headers=auth.headers(user_token))

    assert response.status_code == 403
    assert response.get_json() == blog_error(
        "AuthorizationError", "You do not have permission to perform this action."
    )


def test_admin_promotes_a_user_and_the_role_applies_at_once(admin_token, auth, client):
    user = make_user()
    user_token = auth.login(user.email).get_json()["accessToken"]

    response = client.patch(
        f"/api/v1/users/{user.id}", json={"role": "admin"}, headers=auth.headers(admin_token)
    )

    assert response.status_code == 200
    assert response.get_json()["role"] == "admin"
    assert client.get("/api/v1/users", headers=auth.headers(user_token)).status_code == 200


def test_demotion_takes_effect_on_the_next_request_despite_the_tokens_roles_claim(
    app_context, auth, client
):
    first_admin = make_admin()
    second_admin = make_admin()
    first_token = auth.login(first_admin.email).get_json()["accessToken"]
    second_token = auth.login(second_admin.email).get_json()["accessToken"]

    client.patch(
        f"/api/v1/users/{second_admin.id}",
        json={"role": "user"},
        headers=auth.headers(first_token),
    )

    assert client.get("/api/v1/users", headers=auth.headers(second_token)).status_code == 403


def test_deactivation_stops_the_users_tokens_on_the_next_request(admin_token, auth, client):
    user = make_user()
    token = auth.login(user.email).get_json()["accessToken"]

    response = client.patch(
        f"/api/v1/users/{user.id}", json={"isActive": False}, headers=auth.headers(admin_token)
    )

    assert response.status_code == 200
    assert response.get_json()["isActive"] is False
    assert client.get("/api/v1/users/current", headers=auth.headers(token)).status_code == 401


@pytest.mark.parametrize(
    ("body", "details"),
    [
        ({}, {"_schema": ["Provide at least one of: role, roles, isActive, mfa, mfaLocked."]}),
        ({"role": "user", "roles": ["user"]}, {"_schema": ["Give role or roles, not both."]}),
        ({"roles": []}, {"roles": ["Length must be between 1 and 50."]}),
        ({"roles": ["Not A Role"]}, {"roles": {"0": ["Not a role name."]}}),
        ({"role": "owner"}, {"role": ["Must be one of: user, admin."]}),
        ({"isActive": "yes"}, {"isActive": ["Not a valid boolean."]}),
        # JSON booleans only: 0, 1 and "false" are not guessed at ("false" is truthy).
        ({"isActive": 0}, {"isActive": ["Not a valid boolean."]}),
        ({"isActive": 1}, {"isActive": ["Not a valid boolean."]}),
        ({"isActive": "false"}, {"isActive": ["Not a valid boolean."]}),
        ({"isActive": "true"}, {"isActive": ["Not a valid boolean."]}),
        ({"isActive": None}, {"isActive": ["Field may not be null."]}),
        ({"email": "x@example.com"}, {"email": ["Unknown field."]}),
    ],
)
def test_update_user_with_invalid_input_is_400(admin_token, auth, client, body, details):
    user = make_user()

    response = client.patch(
        f"/api/v1/users/{user.id}", json=body, headers=auth.headers(admin_token)
    )

    assert response.status_code == 400
    assert response.get_json() == blog_error("ValidationError", "Validation failed.", details)


def test_a_refused_boolean_changes_nothing(admin_token, auth, client):
    user = make_user()

    client.patch(
        f"/api/v1/users/{user.id}", json={"isActive": 0}, headers=auth.headers(admin_token)
    )

    assert client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
                       ).status_code == 200  # fmt: skip


def test_every_boolean_field_of_every_schema_takes_json_booleans_only():
    import importlib
    import pkgutil

    from marshmallow import Schema
    from marshmallow import fields

    import app.api
    from app.api.fields import JsonBoolean

    for module in pkgutil.walk_packages(app.api.__path__, "app.api."):
        if module.name.endswith(".schemas"):
            importlib.import_module(module.name)
    schemas = [cls for cls in _subclasses(Schema) if cls.__module__.startswith("app.api.")]
    booleans = [(cls.__name__, name) for cls in schemas
                for name, field in cls._declared_fields.items()
                if isinstance(field, fields.Boolean)]  # fmt: skip

    assert booleans, "the schemas have boolean fields"
    for cls in schemas:
        for name, field in cls._declared_fields.items():
            if isinstance(field, fields.Boolean):
                assert isinstance(field, JsonBoolean), f"{cls.__name__}.{name}"


def _subclasses(cls):
    for subclass in cls.__subclasses__():
        yield subclass
        yield from _subclasses(subclass)


def test_update_of_an_unknown_user_is_404(admin_token, auth, client):
    response = client.patch(
        "/api/v1/users/999999", json={"role": "user"}, headers=auth.headers(admin_token)
    )

    assert response.status_code == 404
    assert response.get_json() == blog_error("NotFoundError", "User not found.")


def test_admin_cannot_demote_themselves(app_context, auth, client):
    admin = make_admin()
    token = auth.login(admin.email).get_json()["accessToken"]

    response = client.patch(
        f"/api/v1/users/{admin.id}", json={"role": "user"}, headers=auth.headers(token)
    )

    assert response.status_code == 403
    assert response.get_json() == blog_error(
        "AuthorizationError", "Admins cannot change or delete their own account here."
    )


def test_update_user_as_a_plain_user_is_403(user_token, auth, client):
    other = make_user()

    response = client.patch(
        f"/api/v1/users/{other.id}", json={"role": "admin"}, headers=auth.headers(user_token)
    )

    assert response.status_code == 403


def test_delete_user_removes_the_account_and_its_tokens_fail(admin_token, auth, client):
    user = make_user()
    token = auth.login(user.email).get_json()["accessToken"]

    response = client.delete(f"/api/v1/users/{user.id}", headers=auth.headers(admin_token))

    assert response.status_code == 200
    assert response.get_json() == {"message": "User deleted successfully"}
    assert db.session.get(User, user.id) is None
    assert client.get("/api/v1/users/current", headers=auth.headers(token)).status_code == 401


def test_delete_of_an_unknown_user_is_404(admin_token, auth, client):
    response = client.delete("/api/v1/users/424242", headers=auth.headers(admin_token))

    assert response.status_code == 404


def test_delete_user_as_a_plain_user_is_403(user_token, auth, client):
    other = make_user()

    response = client.delete(f"/api/v1/users/{other.id}", headers=auth.headers(user_token))

    assert response.status_code == 403
    assert db.session.get(User, other.id) is not None


@pytest.mark.parametrize("user_id", ["2147483648", "18446744073709551616"])
def test_an_id_beyond_any_stored_id_is_a_404_not_an_overflow(admin_token, auth, client, user_id):
    """Found by schemathesis: a 2**64 id overflowed the database integer (500)."""
    response = client.delete(f"/api/v1/users/{user_id}", headers=auth.headers(admin_token))

    assert response.status_code == 404
    assert response.get_json()["error"] == "NotFoundError"


def test_an_audit_user_filter_beyond_any_stored_id_is_a_400(admin_token, auth, client):
    response = client.get("/api/v1/audit-events?user=18446744073709551616",
                          headers=auth.headers(admin_token))  # fmt: skip

    assert response.status_code == 400
