"""The admin API the consoles stand on: finding users, a user's page, roles beyond user and
admin, unlocking, a user's sessions, and API clients."""

from datetime import timedelta

import pytest

from app.core import roles
from app.core.accounts import clients
from app.core.models import AuthEvent
from app.core.tokens.tokens import token_minter
from app.database import db
from tests.factories import PASSWORD
from tests.factories import age_proofs
from tests.factories import make_admin
from tests.factories import make_client
from tests.factories import make_user
from tests.matchers import TIMESTAMP
from tests.matchers import blog_error

USERS = "/api/v1/users"


@pytest.fixture
def admin(app_context):
    return make_admin(email="boss@example.com")


@pytest.fixture
def bearer(admin, auth):
    token = auth.login(admin.email).get_json()["accessToken"]
    return auth.headers(token)


def _login(client, email: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def _emails(response) -> list[str]:
    assert response.status_code == 200, response.get_json()
    return [user["email"] for user in response.get_json()["users"]]


def test_users_are_found_by_part_of_their_email_username_or_display_name(client, bearer):
    make_user(email="ada.lovelace@example.com", username="countess")
    make_user(email="grace@example.com", display_name="Grace Hopper")
    make_user(email="linus@example.com", username="ada_fan")

    assert _emails(client.get(f"{USERS}?q=LOVELACE", headers=bearer)) == [
        "ada.lovelace@example.com"
    ]
    assert _emails(client.get(f"{USERS}?q=hopper", headers=bearer)) == ["grace@example.com"]
    assert _emails(client.get(f"{USERS}?q=ada", headers=bearer)) == [
        "ada.lovelace@example.com",
        "linus@example.com",
    ]


def test_a_search_treats_like_wildcards_as_plain_text(client, bearer):
    make_user(email="axb@example.com", username="axb")
    make_user(email="a_b@example.com", username="a-b")

    assert _emails(client.get(f"{USERS}?q=%25", headers=bearer)) == []
    assert _emails(client.get(f"{USERS}?q=a_b", headers=bearer)) == ["a_b@example.com"]


def test_users_are_filtered_by_role_and_status(client, bearer, admin):
    roles.create_role(name="editor", permissions=["news:write"])
    editor = make_user(email="editor@example.com", roles=("user", "editor"))
    gone = make_user(email="gone@example.com")
    client.patch(f"{USERS}/{gone.id}", json={"isActive": False}, headers=bearer)

    assert _emails(client.get(f"{USERS}?role=editor", headers=bearer)) == [editor.email]
    assert _emails(client.get(f"{USERS}?role=admin", headers=bearer)) == [admin.email]
    assert _emails(client.get(f"{USERS}?status=inactive", headers=bearer)) == [gone.email]
    assert gone.email not in _emails(client.get(f"{USERS}?status=active", headers=bearer))
    assert client.get(f"{USERS}?status=asleep", headers=bearer).get_json() == blog_error(
        "ValidationError",
        "Validation failed.",
        {"status": ["Must be one of: active, inactive, unverified, locked."]},
    )


def test_a_users_page_shows_roles_factors_identities_and_live_sessions(client, bearer, auth):
    user = make_user(email="seen@example.com")
    _login(client, user.email)

    response = client.get(f"{USERS}/{user.id}", headers=bearer)

    assert response.status_code == 200
    body = response.get_json()
    assert body["user"]["email"] == "seen@example.com"
    assert body["user"]["roles"] == ["user"]
    assert body["user"]["lastSignInAt"] == TIMESTAMP
    assert body["user"]["mfaEnabled"] is False
    assert body["secondFactors"] == {"totp": False, "recoveryCodesLeft": 0, "passkeys": []}
    assert body["identities"] == []
    assert body["liveSessions"] == 1


def test_a_sign_in_records_when_without_touching_updated_at(client, app_context):
    user = make_user()
    updated_at = user.updated_at

    _login(client, user.email)

    db.session.refresh(user)
    assert user.last_sign_in_at is not None
    assert user.updated_at == updated_at


def test_an_unknown_user_page_is_404(client, bearer):
    response = client.get(f"{USERS}/999999", headers=bearer)

    assert response.status_code == 404
    assert response.get_json() == blog_error("NotFoundError", "User not found.")


def test_an_admin_assigns_custom_roles_and_their_permissions_apply_at_once(client, bearer):
    roles.create_role(name="editor", permissions=["news:write"])
    user = make_user()
    token = _login(client, user.email).get_json()["accessToken"]

    response = client.patch(f"{USERS}/{user.id}", json={"roles": ["user", "editor"]},
                            headers=bearer)  # fmt: skip

    assert response.status_code == 200
    assert response.get_json()["roles"] == ["user", "editor"]
    staff_check = client.get("/api/auth/check", headers={"Authorization": f"Bearer {token}"})
    assert staff_check.get_json()["user"]["permissions"] == ["news:write"]


def test_an_unknown_role_is_404_and_changes_nothing(client, bearer, app_context):
    user = make_user()

    response = client.patch(f"{USERS}/{user.id}", json={"roles": ["wizard"]}, headers=bearer)

    assert response.status_code == 404
    assert response.get_json() == blog_error("NotFoundError", "Unknown role: wizard.")
    db.session.refresh(user)
    assert roles.role_names(user) == ["user"]


def test_unlock_clears_the_accounts_failure_budget_and_second_step_lock(client, app, bearer):
    app.config["AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP"] = "2 per hour"
    user = make_user()
    user.mfa_failures = 99
    db.session.commit()
    for _ in range(2):
        _login(client, user.email, "not the password")
    assert _login(client, user.email).status_code == 429

    response = client.post(f"{USERS}/{user.id}/unlock", headers=bearer)

    assert response.status_code == 200
    assert response.get_json() == {"message": "User unlocked"}
    assert _login(client, user.email).status_code == 200
    db.session.refresh(user)
    assert user.mfa_failures == 0


def test_an_admin_lists_and_ends_one_session_of_a_user(client, bearer, auth):
    user = make_user()
    first = _login(client, user.email).get_json()["accessToken"]
    second = _login(client, user.email).get_json()["accessToken"]
    listed = client.get(f"{USERS}/{user.id}/sessions", headers=bearer).get_json()["sessions"]
    assert len(listed) == 2
    assert listed[0] == {
        "id": listed[0]["id"],
        "dialect": "blog",
        "createdAt": TIMESTAMP,
        "lastUsedAt": TIMESTAMP,
        "expiresAt": TIMESTAMP,
        "userAgent": "Werkzeug/3.1.9",
        "ip": "127.0.0.1",
        "clientType": "browser",
        "deviceName": None,
        "platform": None,
        "methods": ["pwd"],
    }
    first_id = next(s["id"] for s in listed if s["id"] != listed[0]["id"])

    ended = client.delete(f"{USERS}/{user.id}/sessions/{first_id}", headers=bearer)

    assert ended.status_code == 200
    assert ended.get_json() == {"message": "Sessions ended", "ended": 1}
    statuses = [client.get(f"{USERS}/current", headers=auth.headers(token)).status_code
                for token in (first, second)]  # fmt: skip
    assert sorted(statuses) == [200, 401]


def test_ending_every_session_of_a_user_stops_all_their_tokens(client, bearer, auth):
    user = make_user()
    tokens = [_login(client, user.email).get_json()["accessToken"] for _ in range(3)]

    ended = client.delete(f"{USERS}/{user.id}/sessions", headers=bearer)

    assert ended.get_json() == {"message": "Sessions ended", "ended": 3}
    for token in tokens:
        assert client.get(f"{USERS}/current", headers=auth.headers(token)).status_code == 401
    events = db.session.scalars(db.select(AuthEvent).where(AuthEvent.event == "sessions_ended"))
    assert [(e.target_user_id, e.details) for e in events] == [
        (user.id, {"sessions": 3, "by": "admin"})
    ]


def test_another_users_session_id_is_not_found(client, bearer):
    user, other = make_user(), make_user()
    _login(client, other.email)
    other_session = client.get(f"{USERS}/{other.id}/sessions", headers=bearer).get_json()

    response = client.delete(
        f"{USERS}/{user.id}/sessions/{other_session['sessions'][0]['id']}", headers=bearer
    )

    assert response.status_code == 404
    assert response.get_json() == blog_error("NotFoundError", "Session not found.")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/unlock"),
        ("delete", "/sessions"),
        ("delete", "/sessions/x"),
    ],
)
def test_user_actions_need_a_recent_proof(client, bearer, admin, method, path):
    user = make_user()
    age_proofs(3600, user_id=admin.id)

    response = getattr(client, method)(f"{USERS}/{user.id}{path}", headers=bearer)

    assert response.status_code == 401
    assert response.get_json()["error"] == "ReauthenticationRequiredError"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", "/1"),
        ("get", "/1/sessions"),
        ("post", "/1/unlock"),
        ("delete", "/1/sessions"),
    ],
)
def test_user_administration_is_for_admins_only(client, auth, app_context, method, path):
    user = make_user()
    token = auth.login(user.email).get_json()["accessToken"]

    response = getattr(client, method)(f"{USERS}{path}", headers=auth.headers(token))

    assert response.status_code == 403


def test_an_admin_cannot_end_their_own_sessions_here(client, bearer, admin):
    response = client.delete(f"{USERS}/{admin.id}/sessions", headers=bearer)

    assert response.status_code == 403


def _client_login(client, client_id: str, client_key: str):
    return client.post("/auth", json={"clientId": client_id, "clientKey": client_key})


def test_an_admin_creates_lists_rotates_and_revokes_an_api_client(client, bearer):
    created = client.post("/api/v1/clients", json={"name": "billing"}, headers=bearer)
    assert created.status_code == 201
    credentials = created.get_json()
    assert credentials == {"clientId": credentials["clientId"],
                           "clientKey": credentials["clientKey"], "name": "billing"}  # fmt: skip
    client_id, old_key = credentials["clientId"], credentials["clientKey"]
    old_token = _client_login(client, client_id, old_key).get_json()["data"]["accessToken"]

    rotated = client.post(f"/api/v1/clients/{client_id}/rotate", headers=bearer).get_json()

    assert _client_login(client, client_id, old_key).status_code == 401
    assert client.get("/auth", headers={"Authorization": f"Bearer {old_token}"}).status_code == 401
    assert _client_login(client, client_id, rotated["clientKey"]).status_code == 200
    listed = client.get("/api/v1/clients", headers=bearer).get_json()["clients"]
    assert listed == [{"clientId": client_id, "name": "billing", "isActive": True,
                       "keyVersion": 1, "createdAt": TIMESTAMP}]  # fmt: skip
    assert "clientKey" not in str(listed)

    revoked = client.delete(f"/api/v1/clients/{client_id}", headers=bearer)

    assert revoked.get_json() == {"message": "Client revoked"}
    assert _client_login(client, client_id, rotated["clientKey"]).status_code == 401
    again = client.post(f"/api/v1/clients/{client_id}/rotate", headers=bearer)
    assert again.status_code == 409


def test_a_client_token_minted_before_key_versions_still_works(client, app_context):
    made = make_client()
    legacy = token_minter().mint(kind="client", subject=made.client_id, ttl=timedelta(hours=1),
                                 claims={"clientId": made.client_id})  # fmt: skip

    assert clients.verify_client_token(token=legacy).client_id == made.client_id


def test_client_changes_need_a_recent_proof_and_an_admin(client, bearer, admin, auth):
    made = make_client()
    user = make_user()
    user_headers = auth.headers(auth.login(user.email).get_json()["accessToken"])
    age_proofs(3600, user_id=admin.id)

    assert client.post(f"/api/v1/clients/{made.client_id}/rotate", headers=bearer
                       ).status_code == 401  # fmt: skip
    assert client.get("/api/v1/clients", headers=user_headers).status_code == 403
    assert client.post("/api/v1/clients", json={"name": "x"}, headers=user_headers
                       ).status_code == 403  # fmt: skip


def test_an_unknown_client_is_404(client, bearer):
    response = client.delete("/api/v1/clients/nope", headers=bearer)

    assert response.status_code == 404
    assert response.get_json() == blog_error("NotFoundError", "Client not found.")


def test_an_admin_creates_edits_and_deletes_a_role_and_holders_follow_at_once(client, bearer, auth):
    body = {"name": "support", "permissions": ["tickets:read"]}
    created = client.post("/api/v1/roles", json=body, headers=bearer)
    assert created.status_code == 201
    assert created.get_json() == {"name": "support", "permissions": ["tickets:read"]}
    holder = make_user(roles=("user", "support"))
    token = _login(client, holder.email).get_json()["accessToken"]

    def permissions() -> list[str]:
        check = client.get("/api/auth/check", headers=auth.headers(token))
        return check.get_json()["user"]["permissions"]

    assert permissions() == ["tickets:read"]
    edited = client.patch("/api/v1/roles/support", json={"permissions": ["tickets:write"]},
                          headers=bearer)  # fmt: skip
    assert edited.get_json() == {"name": "support", "permissions": ["tickets:write"]}
    assert permissions() == ["tickets:write"]
    deleted = client.delete("/api/v1/roles/support", headers=bearer)
    assert deleted.get_json() == {"message": "Role deleted"}
    assert permissions() == []
    listed = client.get("/api/v1/roles", headers=bearer).get_json()["roles"]
    assert [role["name"] for role in listed] == ["user", "admin"]
    events = db.session.scalars(
        db.select(AuthEvent.event).where(AuthEvent.event.like("role_%")).order_by(AuthEvent.id)
    )
    assert list(events) == ["role_created", "role_updated", "role_deleted"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("delete", "/api/v1/roles/user", None, 403, "The built-in role 'user' cannot be deleted."),
        ("patch", "/api/v1/roles/admin", {"permissions": []}, 403,
         "The admin role holds every permission; it is not edited."),
        ("post", "/api/v1/roles", {"name": "admin"}, 409, "Role 'admin' already exists."),
        ("delete", "/api/v1/roles/ghost", None, 404, "Unknown role: ghost."),
    ],
)  # fmt: skip
def test_the_built_in_roles_stay_and_unknown_roles_are_not_found(
    client, bearer, method, path, body, status, message
):
    response = getattr(client, method)(path, json=body, headers=bearer)

    assert response.status_code == status
    assert response.get_json()["message"] == message


def test_the_audit_log_filters_by_outcome_and_exports_csv_without_formulas(client, bearer):
    user = make_user()
    client.post("/api/v1/auth/login", json={"email": user.email, "password": "wrong pass 1"},
                headers={"User-Agent": "=HYPERLINK(\"http://evil\")"})  # fmt: skip

    failures = client.get(f"/api/v1/audit-events?user={user.id}&outcome=failure", headers=bearer)
    exported = client.get(f"/api/v1/audit-events/export?user={user.id}", headers=bearer)

    assert [e["event"] for e in failures.get_json()["events"]] == ["login"]
    assert exported.status_code == 200
    assert exported.headers["Content-Type"] == "text/csv; charset=utf-8"
    assert exported.headers["Content-Disposition"] == 'attachment; filename="audit-events.csv"'
    lines = exported.get_data(as_text=True).splitlines()
    assert lines[0] == (
        "id,time,event,outcome,userId,targetUserId,clientId,sessionId,dialect,ip,userAgent,details"
    )
    assert len(lines) == 2
    assert lines[1].endswith(',"\'=HYPERLINK(""http://evil"")",')


def test_an_unknown_outcome_is_a_400(client, bearer):
    response = client.get("/api/v1/audit-events?outcome=maybe", headers=bearer)

    assert response.status_code == 400
    assert "outcome" in response.get_json()["details"]


def test_an_admin_mails_a_user_a_reset_link_and_a_verification_link(client, bearer, mailbox):
    user = make_user()

    reset = client.post(f"{USERS}/{user.id}/mail", json={"kind": "password_reset"},
                        headers=bearer)  # fmt: skip
    verify = client.post(f"{USERS}/{user.id}/mail", json={"kind": "verification"},
                         headers=bearer)  # fmt: skip

    assert (reset.status_code, verify.status_code) == (202, 202)
    assert reset.get_json() == {"message": "Mail queued"}
    assert mailbox.wait_for(user.email, "Reset your password")
    assert mailbox.wait_for(user.email, "Verify your email address")
    events = db.session.scalars(db.select(AuthEvent).where(AuthEvent.event == "user_mailed"))
    assert [(e.target_user_id, e.details["mail"]) for e in events] == [
        (user.id, "password_reset"),
        (user.id, "verification"),
    ]


def test_a_verified_address_gets_no_new_verification_link(client, bearer):
    user = make_user(email_verified=True)

    response = client.post(f"{USERS}/{user.id}/mail", json={"kind": "verification"},
                           headers=bearer)  # fmt: skip

    assert response.status_code == 409
    assert response.get_json()["message"] == "The address is already verified."


def test_an_admin_adds_and_removes_a_whitelisted_address(client, app, bearer):
    app.config["ADMIN_EMAIL_WHITELIST"] = ["configured@example.com"]

    added = client.post("/api/v1/admin-whitelist", json={"email": "Next@Example.com"},
                        headers=bearer)  # fmt: skip
    again = client.post("/api/v1/admin-whitelist", json={"email": "next@example.com"},
                        headers=bearer)  # fmt: skip
    listed = client.get("/api/v1/admin-whitelist", headers=bearer).get_json()
    removed = client.delete("/api/v1/admin-whitelist/next@example.com", headers=bearer)
    configured = client.delete("/api/v1/admin-whitelist/configured@example.com", headers=bearer)

    assert added.status_code == 201
    assert added.get_json() == {"email": "next@example.com", "source": "table"}
    assert again.status_code == 409
    assert listed == {"entries": [{"email": "next@example.com", "source": "table"},
                                  {"email": "configured@example.com",
                                   "source": "configuration"}]}  # fmt: skip
    assert removed.get_json() == {"message": "Removed from the admin whitelist"}
    assert configured.status_code == 404
