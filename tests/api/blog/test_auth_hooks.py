"""Auth hooks: a team's own service decides, synchronously, over a real HTTP hop on loopback;
requests are signed the Standard Webhooks way, and every failure refuses the action."""

import json

import pytest
from flask_jwt_extended import decode_token
from sqlalchemy import func
from sqlalchemy import select

from app.core.hooks.auth_hooks import install_auth_hooks
from app.core.models import AuthEvent
from app.core.models import OutboxMail
from app.core.models import User
from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_user
from tests.matchers import blog_error
from tests.webhook_receiver import Receiver

AUTH = "/api/v1/auth"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
UNAVAILABLE = blog_error(
    "ServiceUnavailableError",
    "The service could not complete this action right now. Try again later.",
)


@pytest.fixture
def hook():
    running = Receiver().start()
    yield running
    running.stop()


def _use(app, name: str, receiver: Receiver) -> None:
    app.config[f"AUTH_HOOK_{name}_URL"] = receiver.url
    app.config[f"AUTH_HOOK_{name}_SECRET"] = SECRET
    install_auth_hooks(app)


def _register(client, email: str = "new@example.com"):
    return client.post(f"{AUTH}/register", json={"email": email, "password": PASSWORD})


def _hook_failures(app) -> list[dict]:
    with app.app_context():
        return [
            event.details
            for event in db.session.scalars(
                select(AuthEvent).where(AuthEvent.event == "hook_failed")
            )
        ]


# BEFORE_USER_CREATED


def test_an_allowing_hook_lets_the_account_be_created_and_is_signed(app, client, hook):
    _use(app, "BEFORE_USER_CREATED", hook)

    response = _register(client)

    assert response.status_code == 201
    [asked] = hook.received
    assert asked.verified_with(SECRET) == {
        "type": "before_user_created",
        "user": {"email": "new@example.com", "username": "new"},
        "source": "registration",
    }


def test_a_rejecting_hook_refuses_registration_with_its_message(app, client, hook):
    _use(app, "BEFORE_USER_CREATED", hook)
    hook.answer_with({"decision": "reject", "message": "Sign-ups are closed this week."})

    response = _register(client)

    assert response.status_code == 403
    assert response.get_json() == blog_error(
        "RegistrationRejectedError", "Sign-ups are closed this week."
    )
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


@pytest.mark.parametrize(
    ("status", "reply", "hang"),
    [
        (500, {}, 0),
        (200, {"decision": "maybe"}, 0),
        (200, ["not", "an", "object"], 0),
        (200, {}, 3),
    ],
    ids=["status 500", "unknown decision", "not an object", "hangs"],
)
def test_a_hook_that_fails_refuses_registration(app, client, hook, status, reply, hang):
    app.config["AUTH_HOOK_TIMEOUT_SECONDS"] = 1
    _use(app, "BEFORE_USER_CREATED", hook)
    hook.status, hook.hang_seconds = status, hang
    hook.answer_with(reply)

    response = _register(client)

    assert (response.status_code, response.get_json()) == (503, UNAVAILABLE)
    assert _hook_failures(app)[0]["hook"] == "BEFORE_USER_CREATED"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0


def test_a_hook_that_is_down_refuses_registration(app, client, hook):
    _use(app, "BEFORE_USER_CREATED", hook)
    hook.stop()

    response = _register(client)

    assert response.status_code == 503
    assert _hook_failures(app) == [{"hook": "BEFORE_USER_CREATED", "reason": "connection"}]


def test_the_hook_decides_on_accounts_made_by_the_cli_and_by_an_import(app, hook, tmp_path):
    _use(app, "BEFORE_USER_CREATED", hook)
    hook.answer_with({"decision": "reject", "message": "No."})
    source = tmp_path / "users.jsonl"
    source.write_text(json.dumps({"email": "imported@example.com"}) + "\n")

    cli = app.test_cli_runner().invoke(
        args=["users", "create", "--username", "operator", "--email", "op@example.com",
              "--password", PASSWORD]
    )  # fmt: skip
    imported = app.test_cli_runner().invoke(args=["users", "import", str(source)])

    assert [json.loads(item.body)["source"] for item in hook.received] == ["cli", "import"]
    assert imported.exit_code == 1
    assert "No." in imported.output
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(User)) == 0
    assert cli.exit_code == 1
    assert cli.output == "Error: No.\n"


# CUSTOM_ACCESS_TOKEN


def test_custom_claims_are_added_to_every_access_token(app, client, hook, app_context):
    user = make_user(email="claims@example.com")
    _use(app, "CUSTOM_ACCESS_TOKEN", hook)
    hook.answer_with({"claims": {"tenant": "acme", "plan": "gold"}})

    login = client.post(f"{AUTH}/login", json={"email": user.email, "password": PASSWORD})
    refreshed = client.post(f"{AUTH}/refresh-token")

    for token in (login.get_json()["accessToken"], refreshed.get_json()["accessToken"]):
        claims = decode_token(token)
        assert (claims["tenant"], claims["plan"]) == ("acme", "gold")
        assert claims["sub"] == str(user.id)
    asked = hook.received[0].verified_with(SECRET)
    assert asked["type"] == "custom_access_token"
    assert asked["user"]["id"] == str(user.id)


@pytest.mark.parametrize("claims", [{"sub": "1"}, {"roles": ["admin"]}, {"exp": 9999999999}])
def test_a_reserved_claim_fails_the_hook_and_the_login(app, client, hook, app_context, claims):
    user = make_user(email="greedy@example.com")
    _use(app, "CUSTOM_ACCESS_TOKEN", hook)
    hook.answer_with({"claims": claims})

    login = client.post(f"{AUTH}/login", json={"email": user.email, "password": PASSWORD})

    assert (login.status_code, login.get_json()) == (503, UNAVAILABLE)
    assert _hook_failures(app) == [{"hook": "CUSTOM_ACCESS_TOKEN", "reason": "reserved_claim"}]


def test_a_refresh_waits_on_the_claims_hook_no_longer_than_its_timeout(
    app, client, hook, app_context
):
    user = make_user(email="waiting@example.com")
    client.post(f"{AUTH}/login", json={"email": user.email, "password": PASSWORD})
    app.config["AUTH_HOOK_TIMEOUT_SECONDS"] = 0.5
    _use(app, "CUSTOM_ACCESS_TOKEN", hook)
    hook.hang_seconds = 3

    refreshed = client.post(f"{AUTH}/refresh-token")

    assert refreshed.status_code == 503
    assert _hook_failures(app) == [{"hook": "CUSTOM_ACCESS_TOKEN", "reason": "timeout"}]


# SEND_EMAIL


def test_mail_goes_to_the_send_email_hook_instead_of_smtp(app, client, hook):
    _use(app, "SEND_EMAIL", hook)

    client.post(f"{AUTH}/forgot-password", json={"email": "nobody@example.com"})
    with app.app_context():
        make_user(email="known@example.com")
    client.post(f"{AUTH}/forgot-password", json={"email": "known@example.com"})

    [sent] = hook.received
    mail = sent.verified_with(SECRET)["mail"]
    assert mail["to"] == "known@example.com"
    assert mail["subject"] == "Reset your password"
    assert "reset-password?token=" in mail["text"]
    assert mail["messageId"].startswith("<")


def test_mail_the_send_email_hook_refuses_is_retried_by_the_outbox(app, client, hook):
    _use(app, "SEND_EMAIL", hook)
    hook.status = 502
    with app.app_context():
        make_user(email="known@example.com")

    client.post(f"{AUTH}/forgot-password", json={"email": "known@example.com"})

    with app.app_context():
        [row] = db.session.scalars(select(OutboxMail)).all()
        assert (row.state, row.attempts, row.last_error) == ("pending", 1, "HookFailedError")
