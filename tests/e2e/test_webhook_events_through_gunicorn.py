"""Every webhook event type through gunicorn (two workers), each caused the way a client
causes it over HTTP: a receiver on loopback gets all fourteen, each signed for the endpoint
and carrying the user it is about."""

import json
import uuid

import pytest

from app.core.hooks.events import EVENT_TYPES
from tests.e2e import http
from tests.e2e.http import call
from tests.e2e.http import enable_totp
from tests.mailbox import token_in
from tests.openid_provider import id_token_from_provider
from tests.openid_provider import native_client
from tests.openid_provider import running_provider
from tests.soft_authenticator import SoftAuthenticator
from tests.totp_codes import wrong_code
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e
PASSWORD = "every Event Passphrase 14"
APP_CLIENT = "authsvc-events-app"
ORIGIN = "http://localhost:5000"


@pytest.fixture
def provider():
    with running_provider(clients=[native_client(APP_CLIENT)]) as running:
        yield running


@pytest.fixture
def server(start_server, provider, mailbox):
    return start_server(
        AUTH_WEBHOOK_ALLOW_PRIVATE="true",
        AUTH_WEBHOOK_TIMEOUT_SECONDS="2",
        MAIL_URL=mailbox.url,
        MAIL_POLL_SECONDS="0.5",
        WEB_CONCURRENCY="2",
        AUTH_MFA_MAX_FAILURES="2",
        AUTH_WEBAUTHN_RP_ID="localhost",
        AUTH_WEBAUTHN_ORIGINS=ORIGIN,
        AUTH_OIDC_PROVIDERS="test",
        AUTH_OIDC_TEST_ISSUER=provider.issuer,
        AUTH_OIDC_TEST_CLIENT_ID=APP_CLIENT,
        AUTH_OIDC_TEST_AUDIENCES=APP_CLIENT,
        AUTH_PUBLIC_URL="http://127.0.0.1:{port}",
        AUTH_RATELIMIT_CREDENTIALS_PER_IP="1000 per minute",
    )


def test_a_receiver_gets_every_event_type_signed(server, provider, mailbox):
    receiver = Receiver().start()
    added = server.flask("webhooks", "add", receiver.url, "--event", "*")
    assert added.returncode == 0, added.stderr
    secret = json.loads(added.stdout)["secret"]
    api, users = f"{server.url}/api/v1/auth", f"{server.url}/api/v1/users"
    email = f"every-{uuid.uuid4().hex[:8]}@example.com"
    new_password = PASSWORD + "!"
    try:
        registered = call(
            "post", f"{api}/register", {"email": email, "password": PASSWORD}, status=201
        )  # user.created, user.signed_in
        token = registered["accessToken"]
        call("patch", f"{users}/current", {"firstName": "Ada"}, token=token)

        # Two-step sign-in on and off: mfa.enabled, mfa.disabled.
        _, codes = enable_totp(api, token, PASSWORD)
        call("delete", f"{api}/mfa/totp", {"code": next(codes)}, token=token)

        # A passkey added, then removed on the proof of that passkey.
        authenticator = SoftAuthenticator(origin=ORIGIN)
        options = call("post", f"{api}/passkeys/register/options", token=token)
        credential = authenticator.create(options)
        added_key = call(
            "post", f"{api}/passkeys/register", {"credential": credential}, token=token, status=201
        )
        options = call("post", f"{api}/reauthenticate/passkey-options", token=token)
        proof = {"credential": authenticator.get(options)}
        token = call("post", f"{api}/reauthenticate", proof, token=token)["accessToken"]
        call("delete", f"{api}/passkeys/{added_key['id']}", token=token)

        # The address changed through the link mailed to the new one: email.changed.
        new_email = f"moved-{uuid.uuid4().hex[:8]}@example.com"
        call("post", f"{users}/current/email", {"email": new_email}, token=token, status=202)
        link = mailbox.wait_for(new_email, "Confirm your new email address")
        call("post", f"{api}/email-change/confirm", {"token": token_in(link)}, token=token)

        # password.changed; signing out everywhere ends the sessions: session.ended.
        change = {"currentPassword": PASSWORD, "newPassword": new_password}
        call("post", f"{api}/change-password", change, token=token)
        credentials = {"email": new_email, "password": new_password}
        signed_in = call("post", f"{api}/login", credentials)
        call("post", f"{api}/logout-all", token=signed_in["accessToken"])

        # A second step guessed wrong until it locks: user.locked.
        token = call("post", f"{api}/login", credentials)["accessToken"]
        totp_secret, _ = enable_totp(api, token, new_password)
        mfa_token = call("post", f"{api}/login", credentials, status=403)["details"]["mfaToken"]
        for _ in range(2):
            http.post(
                f"{api}/mfa/verify", json={"mfaToken": mfa_token, "code": wrong_code(totp_secret)}
            )

        # An operator's account (verified), a provider's identity linked to it and removed:
        # identity.linked, identity.unlinked; that account deleted: user.deleted.
        linked_email = f"linked-{uuid.uuid4().hex[:8]}@example.com"
        created = server.flask(
            "users", "create", "--username", linked_email.split("@")[0],
            "--email", linked_email, "--password", PASSWORD,
        )  # fmt: skip
        assert created.returncode == 0, created.stderr
        id_token = id_token_from_provider(provider, APP_CLIENT, linked_email)
        exchanged = call("post", f"{api}/oidc/test/token", {"idToken": id_token})
        linked_token = exchanged["accessToken"]
        (identity,) = call("get", f"{api}/identities", token=linked_token)["identities"]
        call("delete", f"{api}/identities/{identity['id']}", token=linked_token)
        call("delete", f"{users}/current", token=linked_token)

        for event_type in EVENT_TYPES:
            receiver.wait_for(event_type, timeout=30)
    finally:
        receiver.stop()

    about = {}
    for item in receiver.received:
        payload = item.verified_with(secret)
        about.setdefault(payload["type"], set()).add(payload["data"]["user"]["id"])
    assert set(about) == set(EVENT_TYPES)
    ours, linked = {registered["user"]["_id"]}, {exchanged["user"]["_id"]}
    assert about["user.created"] == ours | linked  # registered, and made with the CLI
    assert about["user.locked"] == about["email.changed"] == about["mfa.enabled"] == ours
    assert about["identity.linked"] == about["identity.unlinked"] == about["user.deleted"] == linked
