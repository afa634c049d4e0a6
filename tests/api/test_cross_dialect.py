"""One core behind five faces: every user token works on every dialect's user endpoints."""

import pytest

from tests.conftest import make_app
from tests.dialects import LOGINS
from tests.dialects import USER_ENDPOINTS
from tests.dialects import bearer
from tests.factories import make_user


@pytest.mark.parametrize("dialect", LOGINS)
@pytest.mark.parametrize("endpoint", USER_ENDPOINTS)
def test_an_access_token_of_any_dialect_works_on_every_user_endpoint(
    app_context, client, dialect, endpoint
):
    user = make_user()
    token = LOGINS[dialect](client, user)

    response = client.get(endpoint, headers=bearer(token))

    assert response.status_code == 200, response.get_json()


@pytest.mark.parametrize("endpoint", USER_ENDPOINTS)
def test_a_logout_in_one_dialect_ends_the_token_in_all(app_context, client, endpoint):
    user = make_user()
    token = LOGINS["token-pair"](client, user)

    client.post("/api/auth/logout", headers=bearer(token))

    assert client.get(endpoint, headers=bearer(token)).status_code == 401


def test_auth_dialects_mounts_only_the_named_subset(database_url, seed_rows):
    app = make_app(database_url, AUTH_DIALECTS=["staff", "token-pair"])
    client = app.test_client()

    try:
        blog = client.post("/api/v1/auth/login", json={})
        staff = client.post("/api/auth/login", json={})
    finally:
        with app.app_context():
            from app.database import db

            db.engine.dispose()

    assert blog.status_code == 404
    assert blog.get_json() == {
        "error": "route_not_found",
        "message": "The requested URL was not found on this server.",
    }
    assert staff.status_code == 400
