"""The decorators for a team's own views (app/api/guards.py): roles and permissions read from
the database, and admin power held to the same second-factor rule as the service's own
admin endpoints."""

import pytest
from flask import Blueprint
from flask import jsonify

from app.api.guards import permission_required
from app.api.guards import roles_required
from tests.factories import PASSWORD
from tests.factories import make_admin
from tests.factories import make_user
from tests.totp_codes import codes_in_order

team = Blueprint("guarded_team", __name__, url_prefix="/guarded")


@team.get("/admin")
@roles_required("admin")
def admin_page():
    return jsonify({"ok": True})


@team.get("/news")
@permission_required("users:read")
def news_page():
    return jsonify({"ok": True})


@pytest.fixture
def team_client(app, client):
    app.register_blueprint(team)
    return client


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _password_login(client, email: str) -> str:
    body = {"email": email, "password": PASSWORD}
    return client.post("/api/v1/auth/login", json=body).get_json()["accessToken"]


def _second_factor_login(client, email: str) -> str:
    token = _password_login(client, email)
    started = client.post(
        "/api/v1/auth/mfa/totp", json={"password": PASSWORD}, headers=_bearer(token)
    ).get_json()
    codes = codes_in_order(started["secret"])
    client.post("/api/v1/auth/mfa/totp/confirm", json={"code": next(codes)}, headers=_bearer(token))
    held = client.post("/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    done = client.post(
        "/api/v1/auth/mfa/verify",
        json={"mfaToken": held.get_json()["details"]["mfaToken"], "code": next(codes)},
    )
    return done.get_json()["accessToken"]


def test_roles_and_permissions_come_from_the_database(team_client, app_context):
    admin, user = make_admin(), make_user()
    admin_token = _password_login(team_client, admin.email)
    user_token = _password_login(team_client, user.email)

    assert team_client.get("/guarded/admin", headers=_bearer(admin_token)).status_code == 200
    assert team_client.get("/guarded/admin", headers=_bearer(user_token)).status_code == 403
    assert team_client.get("/guarded/news", headers=_bearer(admin_token)).status_code == 200
    assert team_client.get("/guarded/news", headers=_bearer(user_token)).status_code == 403


def test_a_teams_admin_view_refuses_a_password_only_admin_when_mfa_is_required(
    team_client, app, app_context
):
    app.config["AUTH_ADMIN_REQUIRES_MFA"] = True
    admin = make_admin()

    plain = team_client.get(
        "/guarded/admin", headers=_bearer(_password_login(team_client, admin.email))
    )
    strong = team_client.get(
        "/guarded/admin", headers=_bearer(_second_factor_login(team_client, admin.email))
    )
    permission_only = team_client.get(
        "/guarded/news", headers=_bearer(_password_login(team_client, make_admin().email))
    )

    assert plain.status_code == 403
    assert "second factor" in plain.get_json()["message"]
    assert strong.status_code == 200
    assert permission_only.status_code == 200
