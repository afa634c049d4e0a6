"""The operators' CLI: each command, and a one-line error with a non-zero exit on bad input."""

import json

import pytest

from app.core import roles
from app.core.models import ApiClient
from app.core.models import User
from app.core.passwords.security import client_key_matches
from app.database import db
from tests.factories import make_user


def _user(email: str) -> User:
    return db.session.scalars(db.select(User).where(User.email == email)).one()


def test_users_create_makes_a_user_with_the_given_roles_and_fields(app_context, runner):
    result = runner.invoke(
        args=[
            "users", "create", "--username", "ops", "--email", "Ops@Example.com",
            "--password", "long enough pw", "--role", "admin",
            "--display-name", "Ops Person", "--client-id", "456",
        ]
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    user = _user("ops@example.com")
    assert roles.role_names(user) == ["admin"]
    assert (user.display_name, user.client_id) == ("Ops Person", 456)
    assert "long enough pw" not in result.output


def test_users_create_without_a_role_makes_a_plain_user(app_context, runner):
    runner.invoke(
        args=["users", "create", "--username", "plain", "--email", "plain@example.com",
              "--password", "long enough pw"]
    )  # fmt: skip

    assert roles.role_names(_user("plain@example.com")) == ["user"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--email", "dup@example.com"], "Error: Email is already registered.\n"),
        (["--role", "wizard"], "Error: Unknown role: wizard.\n"),
        (["--password", "short"], "Error: Password must be 8 to 128 characters long.\n"),
        (["--email", "not-an-email"], "Error: Not a valid email address.\n"),
    ],
)
def test_users_create_with_bad_input_prints_one_line_and_fails(app_context, runner, args, message):
    make_user(email="dup@example.com")
    base = {"--username": "someone", "--email": "new@example.com", "--password": "long enough"}
    overrides = dict(zip(args[::2], args[1::2], strict=True))
    argv = ["users", "create"]
    for option, value in (base | overrides).items():
        argv += [option, value]
    if "--role" in overrides:
        argv += ["--role", overrides["--role"]]

    result = runner.invoke(args=argv)

    assert result.exit_code == 1
    assert result.output == message


def test_users_create_with_a_non_numeric_client_id_fails(runner):
    result = runner.invoke(
        args=["users", "create", "--username", "u1", "--email", "u1@example.com",
              "--password", "long enough", "--client-id", "abc"]
    )  # fmt: skip

    assert result.exit_code == 2
    assert "'abc' is not a valid integer" in result.output


def test_roles_create_with_permissions(app_context, runner):
    result = runner.invoke(
        args=[
            "roles",
            "create",
            "editor",
            "--permission",
            "news:write",
            "--permission",
            "news:read",
        ]
    )

    assert result.exit_code == 0, result.output
    assert result.output == "Created role editor (news:read, news:write).\n"
    editor = make_user(roles=("user", "editor"))
    assert roles.permission_names(editor) == ["news:read", "news:write"]


def test_roles_create_a_duplicate_fails(runner):
    result = runner.invoke(args=["roles", "create", "admin"])

    assert result.exit_code == 1
    assert result.output == "Error: Role 'admin' already exists.\n"


def test_clients_create_prints_json_credentials_and_stores_the_key_hashed(app_context, runner):
    result = runner.invoke(args=["clients", "create", "billing service"])

    assert result.exit_code == 0, result.output
    credentials = json.loads(result.output)
    assert set(credentials) == {"clientId", "clientKey"}
    assert len(credentials["clientKey"]) == 64
    client = db.session.scalars(
        db.select(ApiClient).where(ApiClient.client_id == credentials["clientId"])
    ).one()
    assert client.name == "billing service"
    assert credentials["clientKey"] not in client.key_hash
    assert client_key_matches(credentials["clientKey"], client.key_hash)


def test_whitelist_add_list_remove(app, runner):
    app.config["ADMIN_EMAIL_WHITELIST"] = ["env@example.com"]

    added = runner.invoke(args=["whitelist", "add", "Boss@Example.com"])
    listed = runner.invoke(args=["whitelist", "list"])
    removed = runner.invoke(args=["whitelist", "remove", "boss@example.com"])
    after = runner.invoke(args=["whitelist", "list"])

    assert added.output == "Added boss@example.com to the admin whitelist.\n"
    assert listed.output == "boss@example.com\nenv@example.com (ADMIN_EMAIL_WHITELIST)\n"
    assert removed.exit_code == 0
    assert after.output == "env@example.com (ADMIN_EMAIL_WHITELIST)\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["whitelist", "remove", "absent@example.com"],
         "Error: absent@example.com is not on the admin whitelist table.\n"),
        (["whitelist", "add", "bad-address"], "Error: Not a valid email address: 'bad-address'.\n"),
    ],
)  # fmt: skip
def test_whitelist_errors_print_one_line(runner, args, message):
    result = runner.invoke(args=args)

    assert result.exit_code == 1
    assert result.output == message


def test_whitelist_add_twice_fails(runner):
    runner.invoke(args=["whitelist", "add", "twice@example.com"])

    result = runner.invoke(args=["whitelist", "add", "twice@example.com"])

    assert result.exit_code == 1
    assert result.output == "Error: twice@example.com is already on the admin whitelist.\n"


def test_tokens_purge_reports_what_it_deleted(auth, runner):
    token = auth.register("leaving@example.com").get_json()["accessToken"]
    auth.logout(token)

    result = runner.invoke(args=["tokens", "purge"])

    assert result.exit_code == 0
    assert result.output == (
        "Deleted 1 sessions, 0 revoked-token rows, 0 reset and verification tokens, 0 expired "
        "second-step tokens, 0 expired OpenID proofs, 0 audit events past their retention, "
        "0 finished mails and 0 finished webhook deliveries.\n"
    )
