"""The operators' account actions at the CLI: what an admin does in the console, for a host
without a browser; each audited as the CLI's."""

import json

import pytest

from app.core import roles
from app.core.models import ApiClient
from app.core.models import AuthEvent
from app.core.models import User
from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_admin
from tests.factories import make_user


def _login(client, email: str, password: str = PASSWORD):
    return client.post("/api/v1/auth/login", json={"email": email, "password": password})


def _cli_events(event: str) -> list[tuple[int | None, dict]]:
    found = db.session.scalars(db.select(AuthEvent).where(AuthEvent.event == event))
    return [(e.target_user_id, e.details) for e in found if e.details.get("by") == "cli"]


def test_deactivate_ends_sessions_and_refuses_logins_until_reactivated(
    app_context, runner, client, auth
):
    user = make_user()
    token = _login(client, user.email).get_json()["accessToken"]

    deactivated = runner.invoke(args=["users", "deactivate", user.email])

    assert deactivated.exit_code == 0, deactivated.output
    assert deactivated.output == f"Deactivated user {user.id}; their sessions are ended.\n"
    assert client.get("/api/v1/users/current", headers=auth.headers(token)).status_code == 401
    assert _login(client, user.email).status_code == 400
    reactivated = runner.invoke(args=["users", "reactivate", user.username])
    assert reactivated.output == f"Reactivated user {user.id}.\n"
    assert _login(client, user.email).status_code == 200
    assert _cli_events("user_updated") == [
        (user.id, {"target_user_id": user.id, "is_active": False, "by": "cli"}),
        (user.id, {"target_user_id": user.id, "is_active": True, "by": "cli"}),
    ]


def test_set_roles_gives_exactly_the_named_roles(app_context, runner):
    roles.create_role(name="editor", permissions=["news:write"])
    user = make_user()

    result = runner.invoke(args=["users", "set-roles", user.email, "user", "editor"])

    assert result.exit_code == 0, result.output
    assert result.output == f"User {user.id} now has roles ['user', 'editor'].\n"


def test_the_operator_cannot_leave_the_service_without_an_active_admin(app_context, runner):
    admin = make_admin()

    demoted = runner.invoke(args=["users", "set-roles", admin.email, "user"])
    deactivated = runner.invoke(args=["users", "deactivate", admin.email])
    deleted = runner.invoke(args=["users", "delete", "--yes", admin.email])

    message = "Error: The service must keep at least one active admin.\n"
    assert [r.output for r in (demoted, deactivated, deleted)] == [message] * 3
    assert {r.exit_code for r in (demoted, deactivated, deleted)} == {1}
    db.session.refresh(admin)
    assert (roles.role_names(admin), admin.is_active) == (["user", "admin"], True)


def test_delete_asks_first_and_removes_the_account(app_context, runner, client):
    user = make_user()

    declined = runner.invoke(args=["users", "delete", user.email], input="n\n")
    assert declined.exit_code == 1
    assert db.session.get(User, user.id) is not None

    confirmed = runner.invoke(args=["users", "delete", user.email], input="y\n")

    assert confirmed.exit_code == 0, confirmed.output
    assert confirmed.output.endswith(f"Deleted user {user.id}.\n")
    db.session.expire_all()
    assert db.session.get(User, user.id) is None
    assert _cli_events("user_deleted") == [(user.id, {"target_user_id": user.id, "by": "cli"})]


def test_unlock_clears_the_second_step_lock(app_context, runner):
    user = make_user()
    user.mfa_failures = 50
    db.session.commit()

    result = runner.invoke(args=["users", "unlock", user.email])

    assert result.output == f"Unlocked user {user.id}.\n"
    db.session.refresh(user)
    assert user.mfa_failures == 0
    assert _cli_events("account_unlocked") == [(user.id, {"by": "cli"})]


def test_end_sessions_ends_all_or_one(app_context, runner, client, auth):
    user = make_user()
    tokens = [_login(client, user.email).get_json()["accessToken"] for _ in range(3)]
    admin = make_admin()
    admin_headers = auth.headers(_login(client, admin.email).get_json()["accessToken"])
    sessions = client.get(f"/api/v1/users/{user.id}/sessions", headers=admin_headers)
    one = sessions.get_json()["sessions"][0]["id"]

    single = runner.invoke(args=["users", "end-sessions", user.email, "--session", one])
    rest = runner.invoke(args=["users", "end-sessions", user.email])
    again = runner.invoke(args=["users", "end-sessions", user.email, "--session", one])

    assert single.output == f"Ended 1 sessions of user {user.id}.\n"
    assert rest.output == f"Ended 2 sessions of user {user.id}.\n"
    assert again.output == "Error: Session not found.\n"
    for token in tokens:
        assert client.get("/api/v1/users/current", headers=auth.headers(token)).status_code == 401


NOBODY = "nobody@example.com"


@pytest.mark.parametrize(
    "args",
    [["deactivate", NOBODY], ["reactivate", NOBODY], ["set-roles", NOBODY, "user"],
     ["delete", "--yes", NOBODY], ["unlock", NOBODY], ["end-sessions", NOBODY]],
)  # fmt: skip
def test_an_unknown_user_prints_one_line_and_fails(runner, args):
    result = runner.invoke(args=["users", *args])

    assert result.exit_code == 1
    assert result.output == f"Error: No user {NOBODY!r}.\n"


def test_clients_list_rotate_revoke(app_context, runner, client):
    created = json.loads(runner.invoke(args=["clients", "create", "billing"]).output)
    client_id = created["clientId"]

    rotated = json.loads(runner.invoke(args=["clients", "rotate", client_id]).output)
    listed = [
        json.loads(line) for line in runner.invoke(args=["clients", "list"]).output.splitlines()
    ]

    assert rotated["clientId"] == client_id and rotated["clientKey"] != created["clientKey"]
    assert [(c["clientId"], c["isActive"], c["keyVersion"]) for c in listed] == [
        (client_id, True, 1)
    ]
    login = {"clientId": client_id, "clientKey": created["clientKey"]}
    assert client.post("/auth", json=login).status_code == 401
    assert client.post("/auth", json=login | {"clientKey": rotated["clientKey"]}).status_code == 200
    revoked = runner.invoke(args=["clients", "revoke", client_id])
    assert revoked.output == f"Revoked client {client_id}.\n"
    assert db.session.scalars(db.select(ApiClient.is_active)).one() is False
    assert runner.invoke(args=["clients", "revoke", "nope"]).output == "Error: Client not found.\n"


def test_roles_list_and_delete(app_context, runner):
    assert runner.invoke(args=["roles", "create", "support", "--permission", "t:r"]).exit_code == 0

    listed = runner.invoke(args=["roles", "list"]).output.splitlines()
    deleted = runner.invoke(args=["roles", "delete", "support"])
    refused = runner.invoke(args=["roles", "delete", "admin"])

    assert listed[-1] == "support (t:r)"
    assert deleted.output == "Deleted role support.\n"
    assert refused.output == "Error: The built-in role 'admin' cannot be deleted.\n"
    assert "support" not in runner.invoke(args=["roles", "list"]).output
