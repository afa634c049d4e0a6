"""Auth hooks through gunicorn: the team's service allows, refuses and adds claims over a real
HTTP hop, and a hook that hangs refuses the action (hooks fail closed)."""

import base64
import json

import pytest

from tests.e2e import http
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e
PASSWORD = "hooked Passphrase 71"
SECRET = "whsec_" + "MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def _claims(token: str) -> dict:
    payload = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_hooks_decide_sign_ups_and_claims_and_fail_closed(start_server):
    gate, claims = Receiver().start(), Receiver().start()
    server = start_server(
        AUTH_HOOK_BEFORE_USER_CREATED_URL=gate.url,
        AUTH_HOOK_BEFORE_USER_CREATED_SECRET=SECRET,
        AUTH_HOOK_CUSTOM_ACCESS_TOKEN_URL=claims.url,
        AUTH_HOOK_CUSTOM_ACCESS_TOKEN_SECRET=SECRET,
        AUTH_HOOK_TIMEOUT_SECONDS="1",
    )
    api = f"{server.url}/api/v1/auth"
    claims.answer_with({"claims": {"tenant": "acme"}})
    try:
        allowed = http.post(
            f"{api}/register", json={"email": "in@example.com", "password": PASSWORD}
        )
        gate.answer_with({"decision": "reject", "message": "Invitation only."})
        refused = http.post(
            f"{api}/register", json={"email": "out@example.com", "password": PASSWORD}
        )
        gate.answer_with({})
        gate.hang_seconds = 3
        hung = http.post(
            f"{api}/register", json={"email": "late@example.com", "password": PASSWORD}
        )
    finally:
        gate.stop()
        claims.stop()

    assert allowed.status_code == 201, allowed.text
    assert _claims(allowed.json()["accessToken"])["tenant"] == "acme"
    gate.received[0].verified_with(SECRET)
    assert (refused.status_code, refused.json()["error"]) == (403, "RegistrationRejectedError")
    assert refused.json()["message"] == "Invitation only."
    assert (hung.status_code, hung.json()["error"]) == (503, "ServiceUnavailableError")
    assert '"hook_failed"' in server.logs()
