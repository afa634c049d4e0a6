"""Every route that names a row by an integer id answers 404 for an id past the database's
integer range (PostgreSQL refuses such a bind with an error, a 500 if it got there), with
the admin's proof fresh so that nothing else stands in the way."""

import pytest

from tests.factories import PASSWORD
from tests.factories import make_admin

FAR = 2**40
ROUTES = [
    ("get", f"/api/v1/users/{FAR}", None),
    ("patch", f"/api/v1/users/{FAR}", {"isActive": False}),
    ("delete", f"/api/v1/users/{FAR}", None),
    ("post", f"/api/v1/users/{FAR}/unlock", None),
    ("post", f"/api/v1/users/{FAR}/mail", {"kind": "verification"}),
    ("get", f"/api/v1/users/{FAR}/sessions", None),
    ("delete", f"/api/v1/users/{FAR}/sessions", None),
    ("delete", f"/api/v1/users/{FAR}/sessions/some-session", None),
    ("delete", f"/api/v1/auth/identities/{FAR}", None),
    ("delete", f"/api/v1/auth/passkeys/{FAR}", None),
    ("get", f"/api/v1/webhooks/{FAR}", None),
    ("patch", f"/api/v1/webhooks/{FAR}", {"enabled": False}),
    ("delete", f"/api/v1/webhooks/{FAR}", None),
    ("post", f"/api/v1/webhooks/{FAR}/rotate-secret", None),
    ("get", f"/api/v1/webhooks/{FAR}/deliveries", None),
    ("post", f"/api/v1/webhooks/{FAR}/deliveries/1/retry", None),
    ("post", f"/api/v1/webhooks/1/deliveries/{FAR}/retry", None),
]


@pytest.mark.parametrize(("method", "path", "body"), ROUTES)
def test_an_id_past_the_integer_range_is_not_found(client, app_context, method, path, body):
    admin = make_admin(email="root@example.com")
    login = client.post("/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {login.get_json()['accessToken']}"}

    response = getattr(client, method)(path, json=body, headers=headers)

    assert response.status_code == 404, response.get_json()
    assert response.get_json()["error"] == "NotFoundError"
