"""Proof from outside: another process verifies the service's ES256 tokens with only the JWKS,
through a key rotation done as docs/signing-keys.md's "Rotating the signing key" says, step
by step."""

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from tests.dialects import USER_ENDPOINTS
from tests.e2e import http
from tests.e2e.conftest import LiveServer
from tests.processes import ROOT

pytestmark = pytest.mark.e2e

ISSUER = "https://auth.example.com"
AUDIENCE = "orders-api"
PASSWORD = "rotating Keys Passphrase 9"
CACHE_SECONDS = 1
WAIT_SECONDS = 15


class Consumer:
    """examples/jwks_consumer.py in its own process, asked one line at a time."""

    def __init__(self, jwks_url: str):
        self.process = subprocess.Popen(
            [sys.executable, str(ROOT / "examples" / "jwks_consumer.py"), jwks_url,
             ISSUER, AUDIENCE, str(CACHE_SECONDS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
        )  # fmt: skip

    def ask(self, line: str) -> dict[str, Any]:
        assert self.process.stdin is not None and self.process.stdout is not None
        self.process.stdin.write(line + "\n")
        self.process.stdin.flush()
        return json.loads(self.process.stdout.readline())

    def accepts(self, token: str) -> bool:
        return self.ask(token)["valid"]

    def wait_until(self, condition: Any) -> None:
        """Ask again until its cache has expired and it sees the JWKS as served now."""
        deadline = time.monotonic() + WAIT_SECONDS
        while not condition(self):
            assert time.monotonic() < deadline, "the consumer never saw the new JWKS"
            time.sleep(0.2)

    def stop(self) -> None:
        self.process.communicate(input="", timeout=10)


@pytest.fixture
def keys_dir(tmp_path: Path) -> Path:
    return tmp_path / "keys"


def _generate(keys_dir: Path) -> dict[str, str]:
    result = subprocess.run(
        [sys.executable, "-m", "app", "keys", "generate", "--algorithm", "ES256",
         "--directory", str(keys_dir)],
        cwd=ROOT, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    return json.loads(result.stdout)


def _signing_settings(signing: dict[str, str], keys_dir: Path) -> dict[str, str]:
    return {
        "JWT_ALGORITHM": "ES256",
        "JWT_SECRET_KEY": "",
        "JWT_PRIVATE_KEY": "",
        "JWT_PRIVATE_KEY_FILE": signing["privateKeyFile"],
        "JWT_VERIFY_KEYS": str(keys_dir),
        "JWT_ISSUER": ISSUER,
        "JWT_AUDIENCE": AUDIENCE,
        "JWKS_MAX_AGE_SECONDS": str(CACHE_SECONDS),
    }


def _login(server: LiveServer) -> str:
    response = http.post(
        f"{server.url}/api/token/", json={"username": "rotor", "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    return response.json()["access"]


def _statuses(server: LiveServer, token: str) -> list[int]:
    bearer = {"Authorization": f"Bearer {token}"}
    return [http.get(f"{server.url}{path}", headers=bearer).status_code for path in USER_ENDPOINTS]


def _jwks_kids(server: LiveServer) -> list[str]:
    response = http.get(f"{server.url}/.well-known/jwks.json")
    assert response.headers["Cache-Control"] == f"public, max-age={CACHE_SECONDS}"
    return [key["kid"] for key in response.json()["keys"]]


def test_another_process_verifies_tokens_through_a_rotation_with_only_the_jwks(
    start_server, keys_dir
):
    old = _generate(keys_dir)
    server = start_server(**_signing_settings(old, keys_dir))
    server.create_user("rotor", password=PASSWORD)
    old_token = _login(server)
    consumer = Consumer(f"{server.url}/.well-known/jwks.json")
    try:
        first = consumer.ask(old_token)
        assert first == {"valid": True, "sub": first["sub"], "kid": old["kid"]}

        # 1. Publish the new public key while the old key still signs; wait one cache age.
        new = _generate(keys_dir)
        start_server.restart(server)
        assert sorted(_jwks_kids(server)) == sorted([old["kid"], new["kid"]])
        assert jwt.get_unverified_header(_login(server))["kid"] == old["kid"]
        consumer.wait_until(lambda c: new["kid"] in c.ask("kids")["kids"])

        # 2. Sign with the new key; the old one still verifies, here and there.
        start_server.restart(server, **_signing_settings(new, keys_dir))
        new_token = _login(server)

        assert _jwks_kids(server) == [new["kid"], old["kid"]]
        assert consumer.ask(new_token) == {"valid": True, "sub": first["sub"], "kid": new["kid"]}
        assert consumer.accepts(old_token)
        assert _statuses(server, old_token) == [200, 200, 200, 200]
        assert _statuses(server, new_token) == [200, 200, 200, 200]

        # 3. Remove the old key: its tokens fail at the service at once, and at the consumer
        #    once its cached JWK set has expired.
        Path(old["privateKeyFile"]).unlink()
        Path(old["publicKeyFile"]).unlink()
        start_server.restart(server)

        assert _jwks_kids(server) == [new["kid"]]
        assert _statuses(server, old_token) == [401, 401, 401, 401]
        assert _statuses(server, new_token) == [200, 200, 200, 200]
        consumer.wait_until(lambda c: not c.accepts(old_token))
        assert consumer.ask(old_token) == {"valid": False, "error": "PyJWKClientError"}
        assert consumer.accepts(new_token)
    finally:
        consumer.stop()
