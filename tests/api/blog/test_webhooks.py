"""Webhooks on the blog API: admins manage endpoints; the service's events reach a real HTTP
receiver on loopback, signed the Standard Webhooks way (checked with the standardwebhooks
library), written in the transaction of their change and retried until they arrive."""

import json
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from app.core import clock
from app.core.hooks.delivery import webhook_courier
from app.core.models import User
from app.core.models import WebhookDelivery
from app.core.models import WebhookEndpoint
from app.database import db
from tests.factories import PASSWORD
from tests.factories import age_proofs
from tests.factories import make_admin
from tests.factories import make_user
from tests.matchers import TIMESTAMP
from tests.matchers import blog_error
from tests.soft_authenticator import SoftAuthenticator
from tests.totp_codes import codes_in_order
from tests.webhook_receiver import Receiver

AUTH = "/api/v1/auth"
HOOKS = "/api/v1/webhooks"
STALE = 301


@pytest.fixture
def app_overrides():
    return {"AUTH_WEBHOOK_ALLOW_PRIVATE": True}


@pytest.fixture
def receiver():
    running = Receiver().start()
    yield running
    running.stop()


@pytest.fixture
def admin_token(app_context, client):
    admin = make_admin(email="root@example.com")
    return _token(client, admin.email)


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _token(client, email: str) -> str:
    response = client.post(f"{AUTH}/login", json={"email": email, "password": PASSWORD})
    assert response.status_code == 200, response.get_json()
    return response.get_json()["accessToken"]


def _subscribe(client, token: str, url: str, events=("*",), **extra):
    body = {"url": url, "events": list(events), **extra}
    return client.post(HOOKS, json=body, headers=_bearer(token))


@pytest.fixture
def endpoint(client, admin_token, receiver):
    created = _subscribe(client, admin_token, receiver.url)
    assert created.status_code == 201, created.get_json()
    return created.get_json()


def _deliveries(
    client, token: str, endpoint_id: str, event_type: str = "user.created"
) -> list[dict]:
    """The endpoint's deliveries of ``event_type`` (a registration also signs in)."""
    response = client.get(f"{HOOKS}/{endpoint_id}/deliveries", headers=_bearer(token))
    assert response.status_code == 200, response.get_json()
    return [d for d in response.get_json()["deliveries"] if d["eventType"] == event_type]


# Managing endpoints


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(client, admin_token, receiver):
    created = _subscribe(
        client, admin_token, receiver.url, ["user.created"], description="CRM sync"
    )

    body = created.get_json()
    assert created.status_code == 201
    assert body == {
        "id": body["id"],
        "url": receiver.url,
        "events": ["user.created"],
        "description": "CRM sync",
        "enabled": True,
        "disabledReason": None,
        "failingSince": None,
        "createdAt": TIMESTAMP,
        "updatedAt": TIMESTAMP,
        "secret": body["secret"],
    }
    assert body["secret"].startswith("whsec_")
    listed = client.get(HOOKS, headers=_bearer(admin_token)).get_json()
    one = client.get(f"{HOOKS}/{body['id']}", headers=_bearer(admin_token)).get_json()
    assert "secret" not in json.dumps(listed) and "secret" not in one
    assert [hook["id"] for hook in listed["webhooks"]] == [body["id"]]
    stored = db.session.scalar(select(WebhookEndpoint.sealed_secret))
    assert body["secret"] not in stored


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"url": "ftp://example.com/x", "events": ["*"]},
            "The URL must be http:// or https:// with a host.",
        ),
        (
            {"url": "https://u:p@example.com/", "events": ["*"]},
            "The URL must not carry credentials.",
        ),
        ({"url": "https://example.com/", "events": ["user.exploded"]}, None),
        ({"url": "https://example.com/", "events": []}, None),
    ],
)
def test_an_endpoint_the_service_cannot_use_is_a_400(client, admin_token, body, message):
    response = client.post(HOOKS, json=body, headers=_bearer(admin_token))

    assert response.status_code == 400
    if message is not None:
        assert response.get_json()["message"] == message


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/hooks",
        "http://localhost/hooks",
        "http://10.1.2.3/hooks",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hooks",
        "http://[::ffff:127.0.0.1]/hooks",
        "http://0.0.0.0/hooks",
    ],
)
def test_a_url_inside_the_network_is_refused_unless_allowed(app, client, admin_token, url):
    app.config["AUTH_WEBHOOK_ALLOW_PRIVATE"] = False

    response = _subscribe(client, admin_token, url)

    assert response.status_code == 400
    assert "loopback, private, link-local or reserved" in response.get_json()["message"]


def test_a_url_that_became_private_is_refused_at_delivery_too(
    app, client, admin_token, receiver, endpoint
):
    app.config["AUTH_WEBHOOK_ALLOW_PRIVATE"] = False  # as if its DNS now pointed inside

    client.post(f"{AUTH}/register", json={"email": "late@example.com", "password": PASSWORD})

    assert receiver.received == []
    [delivery] = _deliveries(client, admin_token, endpoint["id"])
    assert (delivery["status"], delivery["lastError"]) == ("pending", "unsafe_url")


def test_only_admins_manage_endpoints(client, app_context, receiver):
    user = make_user()
    token = _token(client, user.email)

    response = _subscribe(client, token, receiver.url)

    assert response.status_code == 403


def test_adding_an_endpoint_on_a_stale_session_asks_for_a_fresh_proof(
    client, admin_token, receiver
):
    age_proofs(STALE)

    response = _subscribe(client, admin_token, receiver.url)

    assert response.status_code == 401
    assert response.get_json()["error"] == "ReauthenticationRequiredError"


def test_an_endpoint_is_changed_and_deleted(client, admin_token, endpoint):
    changed = client.patch(
        f"{HOOKS}/{endpoint['id']}",
        json={"events": ["user.deleted", "user.created"], "enabled": False},
        headers=_bearer(admin_token),
    )
    deleted = client.delete(f"{HOOKS}/{endpoint['id']}", headers=_bearer(admin_token))
    gone = client.get(f"{HOOKS}/{endpoint['id']}", headers=_bearer(admin_token))

    assert changed.get_json()["events"] == ["user.created", "user.deleted"]
    assert changed.get_json()["enabled"] is False
    assert deleted.get_json() == {"message": "Webhook deleted"}
    assert gone.status_code == 404
    assert gone.get_json() == blog_error("NotFoundError", "Webhook endpoint not found.")


# Events


def test_a_registration_arrives_signed_with_the_users_public_fields(client, endpoint, receiver):
    registered = client.post(
        f"{AUTH}/register", json={"email": "new@example.com", "password": PASSWORD}
    )

    [received] = receiver.wait_for("user.created")
    payload = received.verified_with(endpoint["secret"])
    assert payload == {
        "type": "user.created",
        "timestamp": TIMESTAMP,
        "data": {
            "user": {
                "id": registered.get_json()["user"]["_id"],
                "email": "new@example.com",
                "username": "new",
                "roles": ["user"],
                "firstName": None,
                "lastName": None,
                "displayName": None,
                "emailVerified": False,
                "isActive": True,
                "createdAt": TIMESTAMP,
            }
        },
    }
    assert received.headers["webhook-id"].startswith("msg_")
    assert received.headers["webhook-signature"].startswith("v1,")
    stored = db.session.get(User, int(payload["data"]["user"]["id"]))
    assert stored.password_hash not in received.body.decode()


def test_a_change_that_is_rolled_back_sends_nothing(client, endpoint, receiver):
    make_user(email="taken@example.com")
    receiver.received.clear()
    before = db.session.scalar(select(func.count()).select_from(WebhookDelivery))

    refused = client.post(
        f"{AUTH}/register", json={"email": "taken@example.com", "password": PASSWORD}
    )

    assert refused.status_code == 409
    assert receiver.received == []
    assert db.session.scalar(select(func.count()).select_from(WebhookDelivery)) == before


def test_an_endpoint_gets_only_the_events_it_subscribes_to(client, admin_token, receiver):
    _subscribe(client, admin_token, receiver.url, ["user.deleted"])

    client.post(f"{AUTH}/register", json={"email": "quiet@example.com", "password": PASSWORD})

    assert receiver.received == []


def test_each_kind_of_change_sends_its_event(client, endpoint, receiver, app_context):
    user = make_user(email="busy@example.com")
    token = _token(client, user.email)
    headers = _bearer(token)
    client.patch("/api/v1/users/current", json={"firstName": "Ada"}, headers=headers)
    secret = client.post(f"{AUTH}/mfa/totp", json={}, headers=headers).get_json()["secret"]
    codes = codes_in_order(secret)
    client.post(f"{AUTH}/mfa/totp/confirm", json={"code": next(codes)}, headers=headers)
    client.delete(f"{AUTH}/mfa/totp", json={"code": next(codes)}, headers=headers)
    client.post(
        f"{AUTH}/change-password",
        json={"currentPassword": PASSWORD, "newPassword": "a new passphrase 88"},
        headers=headers,
    )
    client.post(f"{AUTH}/logout-all", headers=headers)
    token = client.post(
        f"{AUTH}/login", json={"email": user.email, "password": "a new passphrase 88"}
    ).get_json()["accessToken"]
    client.delete("/api/v1/users/current", headers=_bearer(token))

    expected = [
        "user.signed_in",
        "user.updated",
        "mfa.enabled",
        "session.ended",
        "mfa.disabled",
        "password.changed",
        "user.deleted",
    ]
    for event_type in expected:
        [*_, last] = receiver.wait_for(event_type)
        payload = last.verified_with(endpoint["secret"])
        assert payload["data"]["user"]["email"] == "busy@example.com", event_type
    updated = receiver.of_type("user.updated")[0].payload
    assert updated["data"]["fields"] == ["firstName"]
    assert updated["data"]["user"]["firstName"] == "Ada"


def test_a_locked_second_step_sends_user_locked(app, client, endpoint, receiver, app_context):
    app.config["AUTH_MFA_MAX_FAILURES"] = 2
    user = make_user(email="guessed@example.com")
    token = _token(client, user.email)
    secret = client.post(f"{AUTH}/mfa/totp", json={}, headers=_bearer(token)).get_json()["secret"]
    client.post(
        f"{AUTH}/mfa/totp/confirm",
        json={"code": next(codes_in_order(secret))},
        headers=_bearer(token),
    )
    mfa_token = client.post(
        f"{AUTH}/login", json={"email": user.email, "password": PASSWORD}
    ).get_json()["details"]["mfaToken"]

    for _ in range(2):
        client.post(f"{AUTH}/mfa/verify", json={"mfaToken": mfa_token, "code": "000000"})

    [locked] = receiver.wait_for("user.locked")
    assert locked.payload["data"]["reason"] == "second_factor_failures"


# Delivery


def _make_due() -> None:
    db.session.execute(update(WebhookDelivery).values(next_attempt_at=clock.utcnow()))
    db.session.commit()


def test_a_receiver_that_fails_gets_the_event_again_with_the_same_id(
    client, admin_token, endpoint, receiver
):
    receiver.status = 500
    client.post(f"{AUTH}/register", json={"email": "retry@example.com", "password": PASSWORD})
    [first] = receiver.wait_for("user.created")
    [pending] = _deliveries(client, admin_token, endpoint["id"])

    receiver.status = 204
    _make_due()
    webhook_courier().flush()

    [_, second] = receiver.wait_for("user.created", count=2)
    [sent] = _deliveries(client, admin_token, endpoint["id"])
    assert (pending["status"], pending["attempts"], pending["lastResponseCode"]) == (
        "pending",
        1,
        500,
    )
    assert pending["lastError"] == "status_500"
    assert (sent["status"], sent["attempts"], sent["lastResponseCode"]) == ("sent", 2, 204)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == sent["webhookId"]
    second.verified_with(endpoint["secret"])


def test_a_receiver_that_is_down_gets_the_event_when_it_is_back(
    client, admin_token, endpoint, receiver
):
    receiver.stop()
    client.post(f"{AUTH}/register", json={"email": "later@example.com", "password": PASSWORD})
    [waiting] = _deliveries(client, admin_token, endpoint["id"])

    receiver.start()
    _make_due()
    webhook_courier().flush()

    receiver.wait_for("user.created")
    assert (waiting["status"], waiting["lastError"], waiting["lastResponseCode"]) == (
        "pending",
        "connection",
        None,
    )


def test_a_receiver_that_hangs_times_out_and_is_tried_again(
    app, client, admin_token, endpoint, receiver
):
    app.config["AUTH_WEBHOOK_TIMEOUT_SECONDS"] = 0.5
    receiver.hang_seconds = 2

    client.post(f"{AUTH}/register", json={"email": "slow@example.com", "password": PASSWORD})

    [waiting] = _deliveries(client, admin_token, endpoint["id"])
    assert (waiting["status"], waiting["lastError"]) == ("pending", "timeout")


def test_a_redirect_is_not_followed(client, admin_token, endpoint, receiver):
    receiver.status = 307
    receiver.location = "http://169.254.169.254/latest/meta-data"

    client.post(f"{AUTH}/register", json={"email": "moved@example.com", "password": PASSWORD})

    assert len(receiver.of_type("user.created")) == 1  # not again at the Location
    [waiting] = _deliveries(client, admin_token, endpoint["id"])
    assert (waiting["status"], waiting["lastResponseCode"]) == ("pending", 307)


def test_a_delivery_is_given_up_after_the_retry_period(
    app, client, admin_token, endpoint, receiver
):
    receiver.status = 500
    client.post(f"{AUTH}/register", json={"email": "gone@example.com", "password": PASSWORD})
    db.session.execute(
        update(WebhookDelivery).values(created_at=clock.utcnow() - timedelta(days=3))
    )
    db.session.commit()

    webhook_courier().flush()

    [failed] = _deliveries(client, admin_token, endpoint["id"])
    assert (failed["status"], failed["lastError"]) == ("failed", "given_up")


def test_a_failed_delivery_is_retried_on_request(client, admin_token, endpoint, receiver):
    receiver.status = 500
    client.post(f"{AUTH}/register", json={"email": "again@example.com", "password": PASSWORD})
    [waiting] = _deliveries(client, admin_token, endpoint["id"])
    receiver.status = 200

    retried = client.post(
        f"{HOOKS}/{endpoint['id']}/deliveries/{waiting['id']}/retry",
        headers=_bearer(admin_token),
    )

    assert retried.status_code == 202
    assert len(receiver.wait_for("user.created", count=2)) == 2
    [sent] = _deliveries(client, admin_token, endpoint["id"])
    assert sent["status"] == "sent"


@pytest.mark.parametrize("ids", [(2**40, 1), (1, 2**40), (2**40, 2**40)])
def test_a_retry_naming_ids_past_the_databases_range_is_not_found(client, admin_token, ids):
    endpoint_id, delivery_id = ids

    response = client.post(
        f"{HOOKS}/{endpoint_id}/deliveries/{delivery_id}/retry", headers=_bearer(admin_token)
    )

    assert response.status_code == 404
    assert response.get_json() == blog_error("NotFoundError", "Delivery not found.")


def test_an_endpoint_failing_for_too_long_is_disabled_and_the_admins_are_mailed(
    app, client, admin_token, endpoint, receiver, mailbox
):
    app.config["AUTH_WEBHOOK_DISABLE_AFTER_SECONDS"] = 0
    receiver.status = 503

    client.post(f"{AUTH}/register", json={"email": "x@example.com", "password": PASSWORD})

    hook = client.get(f"{HOOKS}/{endpoint['id']}", headers=_bearer(admin_token)).get_json()
    assert (hook["enabled"], hook["disabledReason"]) == (False, "failing")
    mailbox.wait_for("root@example.com", "A webhook endpoint was disabled")
    enabled = client.patch(
        f"{HOOKS}/{endpoint['id']}", json={"enabled": True}, headers=_bearer(admin_token)
    ).get_json()
    assert (enabled["enabled"], enabled["failingSince"]) == (True, None)


def test_after_a_rotation_both_secrets_sign_for_the_grace_period(
    client, admin_token, endpoint, receiver
):
    rotated = client.post(f"{HOOKS}/{endpoint['id']}/rotate-secret", headers=_bearer(admin_token))
    new_secret = rotated.get_json()["secret"]

    client.post(f"{AUTH}/register", json={"email": "rot@example.com", "password": PASSWORD})

    [received] = receiver.wait_for("user.created")
    assert new_secret != endpoint["secret"]
    received.verified_with(new_secret)
    received.verified_with(endpoint["secret"])
    assert len(received.headers["webhook-signature"].split(" ")) == 2


def test_after_the_grace_period_only_the_new_secret_signs(
    app, client, admin_token, endpoint, receiver
):
    app.config["AUTH_WEBHOOK_SECRET_GRACE_SECONDS"] = 0
    rotated = client.post(f"{HOOKS}/{endpoint['id']}/rotate-secret", headers=_bearer(admin_token))

    client.post(f"{AUTH}/register", json={"email": "rot2@example.com", "password": PASSWORD})

    [received] = receiver.wait_for("user.created")
    received.verified_with(rotated.get_json()["secret"])
    assert len(received.headers["webhook-signature"].split(" ")) == 1


# The CLI


def test_the_cli_adds_lists_and_removes_endpoints(app, runner, receiver):
    added = runner.invoke(
        args=["webhooks", "add", receiver.url, "--event", "user.created", "--event", "*"]
    )
    created = json.loads(added.output)
    listed = json.loads(runner.invoke(args=["webhooks", "list"]).output)
    removed = runner.invoke(args=["webhooks", "remove", created["id"]])

    assert added.exit_code == 0
    assert created["secret"].startswith("whsec_")
    assert created["events"] == ["*", "user.created"]
    assert [hook["url"] for hook in listed["webhooks"]] == [receiver.url]
    assert json.loads(removed.output) == {"message": "Webhook deleted"}
    assert json.loads(runner.invoke(args=["webhooks", "list"]).output) == {"webhooks": []}


def test_the_cli_refuses_a_private_url_in_one_line(app, runner):
    app.config["AUTH_WEBHOOK_ALLOW_PRIVATE"] = False

    result = runner.invoke(args=["webhooks", "add", "http://127.0.0.1/x", "--event", "*"])

    assert result.exit_code == 1
    assert result.output.startswith("Error: The URL's host resolves to a loopback")


def test_adding_and_removing_a_passkey_send_their_events(client, endpoint, receiver, app_context):
    user = make_user(email="keys@example.com")
    token = _token(client, user.email)
    authenticator = SoftAuthenticator()
    options = client.post(f"{AUTH}/passkeys/register/options", headers=_bearer(token))
    credential = authenticator.create(options.get_json())
    added = client.post(
        f"{AUTH}/passkeys/register", json={"credential": credential}, headers=_bearer(token)
    )
    # Removing a second factor needs a proof by a second factor: the passkey itself.
    options = client.post(f"{AUTH}/reauthenticate/passkey-options", headers=_bearer(token))
    proved = client.post(
        f"{AUTH}/reauthenticate",
        json={"credential": authenticator.get(options.get_json())},
        headers=_bearer(token),
    ).get_json()["accessToken"]
    removed = client.delete(f"{AUTH}/passkeys/{added.get_json()['id']}", headers=_bearer(proved))
    assert removed.status_code == 200, removed.get_json()

    for event_type in ("passkey.added", "passkey.removed"):
        [received] = receiver.wait_for(event_type)
        assert received.verified_with(endpoint["secret"])["data"]["user"]["id"] == str(user.id)
