"""The audit log: every auth event is stored, and admins can query it."""

import pytest

from app.core.models import AuthEvent
from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_admin
from tests.factories import make_client
from tests.factories import make_user


def _events() -> list[tuple[str, str]]:
    return [
        (e.event, e.outcome)
        for e in db.session.scalars(db.select(AuthEvent).order_by(AuthEvent.id))
    ]


@pytest.fixture
def admin_bearer(app_context, client):
    admin = make_admin()
    token = client.post(
        "/api/v1/auth/login", json={"email": admin.email, "password": PASSWORD}
    ).get_json()["accessToken"]
    return {"Authorization": f"Bearer {token}"}


def test_every_auth_event_is_recorded(app, app_context, client):
    app.config["AUTH_REFRESH_REUSE_GRACE_SECONDS"] = 0
    user, admin = make_user(), make_admin()
    credentials = make_client()

    client.post("/api/v1/auth/register", json={"email": "new@example.com", "password": PASSWORD})
    client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong one!"})
    login = client.post("/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    spent = client.get_cookie("refreshToken", path="/api/v1/auth").value
    client.post("/api/v1/auth/refresh-token")
    client.set_cookie("refreshToken", spent, path="/api/v1/auth")
    client.post("/api/v1/auth/refresh-token")
    staff = client.post("/api/auth/login", json={"username": user.username, "password": PASSWORD})
    staff_bearer = {"Authorization": f"Bearer {staff.get_json()['token']}"}
    for current in ("wrong one!", PASSWORD):
        client.post(
            "/api/auth/change-password",
            headers=staff_bearer,
            json={"currentPassword": current, "newPassword": "fresh phrase 11"},
        )
    client.post("/api/auth/logout", headers=staff_bearer)
    client.post("/auth", json={"clientId": credentials.client_id, "clientKey": "0" * 64})
    client.post("/auth", json={"clientId": credentials.client_id,
                               "clientKey": credentials.client_key})  # fmt: skip
    admin_token = client.post(
        "/api/token/", json={"username": admin.username, "password": PASSWORD}
    ).get_json()["access"]
    admin_bearer = {"Authorization": f"Bearer {admin_token}"}
    client.post(f"/api/v1/users/{user.id}/unlock", headers=admin_bearer)
    client.delete(f"/api/v1/users/{user.id}/sessions", headers=admin_bearer)
    client.patch(f"/api/v1/users/{user.id}", json={"isActive": False}, headers=admin_bearer)
    client.delete(f"/api/v1/users/{user.id}", headers=admin_bearer)
    client.post(f"/api/v1/clients/{credentials.client_id}/rotate", headers=admin_bearer)
    client.delete(f"/api/v1/clients/{credentials.client_id}", headers=admin_bearer)

    assert login.status_code == 200
    assert _events() == [
        ("client_created", "success"),
        ("register", "success"),
        ("login", "failure"),
        ("login", "success"),
        ("refresh", "success"),
        ("refresh_reuse", "session_revoked"),
        ("login", "success"),
        ("password_change", "failure"),
        ("password_change", "success"),
        ("logout", "success"),
        ("client_auth", "failure"),
        ("client_auth", "success"),
        ("login", "success"),
        ("account_unlocked", "success"),
        ("sessions_ended", "success"),
        ("user_updated", "success"),
        ("user_deleted", "success"),
        ("client_key_rotated", "success"),
        ("client_revoked", "success"),
    ]


def test_an_event_keeps_who_where_and_how_but_no_secret(app_context, client):
    user = make_user()

    client.post(
        "/api/auth/login",
        json={"username": user.username, "password": PASSWORD},
        headers={"User-Agent": "StaffApp/2.1"},
        environ_base={"REMOTE_ADDR": "203.0.113.5"},
    )

    event = db.session.scalars(db.select(AuthEvent)).one()
    assert (event.event, event.outcome, event.user_id) == ("login", "success", user.id)
    assert (event.dialect, event.ip, event.user_agent) == ("staff", "203.0.113.5", "StaffApp/2.1")
    assert event.session_id
    assert PASSWORD not in str(event.details)


def test_admins_list_events_newest_first_with_pagination(admin_bearer, client):
    user = make_user()
    for _ in range(3):
        client.post("/auth/login", json={"username": user.username, "password": "nope nope"})

    response = client.get("/api/v1/audit-events?limit=2", headers=admin_bearer)

    assert response.status_code == 200
    body = response.get_json()
    assert body["pagination"] == {"page": 1, "limit": 2, "total": 4, "totalPages": 2}
    assert [e["event"] for e in body["events"]] == ["login", "login"]
    assert set(body["events"][0]) == {
        "id", "time", "event", "outcome", "userId", "targetUserId", "clientId",
        "sessionId", "dialect", "ip", "userAgent", "details",
    }  # fmt: skip
    assert body["events"][0]["outcome"] == "failure"
    assert body["events"][0]["dialect"] == "cmg"


def test_events_filter_by_user_event_and_time_range(admin_bearer, client):
    user, other = make_user(), make_user()
    client.post("/auth/login", json={"username": user.username, "password": PASSWORD})
    client.post("/auth/login", json={"username": other.username, "password": PASSWORD})

    by_user = client.get(f"/api/v1/audit-events?user={user.id}", headers=admin_bearer)
    by_event = client.get("/api/v1/audit-events?event=logout", headers=admin_bearer)
    future = client.get("/api/v1/audit-events?from=2999-01-01T00:00:00Z", headers=admin_bearer)
    past = client.get("/api/v1/audit-events?to=2000-01-01T00:00:00Z", headers=admin_bearer)

    assert [e["userId"] for e in by_user.get_json()["events"]] == [user.id]
    assert by_event.get_json()["events"] == []
    assert future.get_json()["pagination"]["total"] == 0
    assert past.get_json()["pagination"]["total"] == 0


def test_an_admins_change_is_found_by_the_user_it_changed(admin_bearer, client):
    """Both are recorded: the admin who acted (userId) and the user changed (targetUserId),
    and ?user= matches either."""
    user, bystander = make_user(), make_user()
    client.patch(f"/api/v1/users/{user.id}", json={"isActive": False}, headers=admin_bearer)
    client.patch(f"/api/v1/users/{bystander.id}", json={"role": "user"}, headers=admin_bearer)
    client.delete(f"/api/v1/users/{user.id}", headers=admin_bearer)

    found = client.get(f"/api/v1/audit-events?user={user.id}", headers=admin_bearer).get_json()

    assert [(e["event"], e["targetUserId"]) for e in found["events"]] == [
        ("user_deleted", user.id),
        ("user_updated", user.id),
    ]
    assert {e["userId"] for e in found["events"]} != {user.id}


@pytest.mark.parametrize(
    ("query", "field"),
    [("event=hacked", "event"), ("from=yesterday", "from"), ("user=0", "user"),
     ("from=2024-01-01T00:00:00", "from")],
)  # fmt: skip
def test_bad_filters_are_400(admin_bearer, client, query, field):
    response = client.get(f"/api/v1/audit-events?{query}", headers=admin_bearer)

    assert response.status_code == 400
    assert field in response.get_json()["details"]


def test_plain_users_cannot_read_the_audit_log(app_context, client):
    user = make_user()
    token = client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
    ).get_json()["accessToken"]

    response = client.get("/api/v1/audit-events", headers={"Authorization": f"Bearer {token}"})

    assert response.status_code == 403


def test_purge_keeps_events_for_the_retention_period(app, app_context, runner, frozen_clock):
    make_user()
    app.config["AUTH_AUDIT_RETENTION_DAYS"] = 30
    from app.core.audit import audit

    audit.record(event="login", outcome="failure")
    frozen_clock.advance(31 * 24 * 3600)
    audit.record(event="login", outcome="success")

    result = runner.invoke(args=["tokens", "purge"])

    assert "1 audit events past their retention" in result.output
    assert _events() == [("login", "success")]
