"""A real OpenID provider for the tests: panva's oidc-provider (server.mjs) under node.

``make test`` installs it (``npm ci`` into tests/openid_provider/node_modules, the pinned
version of package-lock.json); a run without node or that folder fails and says how to
install it. The tests make the provider's signing key, so they can also sign ID tokens the
provider never issued: expired ones, or for another audience.
"""

import contextlib
import json
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from dataclasses import field
from html import unescape
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import pytest
import requests
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwk import RSAKey

from tests.ports import free_port

HERE = Path(__file__).resolve().parent
INSTALLED = HERE / "node_modules" / "oidc-provider"
INSTALL_HINT = "npm ci --prefix tests/openid_provider (make test does it)"
START_TIMEOUT_SECONDS = 20
KEY_ID = "provider-key-1"


@dataclass
class OpenIdProvider:
    issuer: str
    key: RSAKey
    process: subprocess.Popen[str]
    clients: list[dict[str, Any]] = field(default_factory=list)

    def sign(self, claims: dict[str, Any], *, key: RSAKey | None = None) -> str:
        """An ID token signed with the provider's key (or ``key``), with ``claims`` as given."""
        signing_key = key or self.key
        header = {"alg": "RS256", "kid": signing_key.kid}
        return jwt.encode(header, claims, signing_key)

    def id_token_claims(self, audience: str, **claims: Any) -> dict[str, Any]:
        """The claims of a fresh ID token of this provider for ``audience``."""
        now = int(time.time())
        return {"iss": self.issuer, "aud": audience, "iat": now, "exp": now + 600} | claims

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)
        if self.process.stdout:
            self.process.stdout.close()


def new_signing_key(kid: str = KEY_ID) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid, "use": "sig", "alg": "RS256"})


@contextlib.contextmanager
def running_provider(
    *,
    clients: list[dict[str, Any]],
    accounts: dict[str, dict[str, Any]] | None = None,
    conform_id_token_claims: bool = False,
    port: int | None = None,
    kid: str = KEY_ID,
) -> Iterator[OpenIdProvider]:
    """Serve a provider on loopback for the block's duration."""
    node = shutil.which("node")
    if node is None or not INSTALLED.is_dir():
        pytest.fail(
            f"The OpenID provider tests need node and oidc-provider: {INSTALL_HINT}",
            pytrace=False,
        )
    port = port or free_port()
    key = new_signing_key(kid)
    config = {
        "port": port,
        "jwks": KeySet([key]).as_dict(private=True),
        "clients": clients,
        "accounts": accounts or {},
        "conformIdTokenClaims": conform_id_token_claims,
    }
    process = subprocess.Popen(
        [node, str(HERE / "server.mjs")],
        env={"PATH": "/usr/bin:/bin", "OP_CONFIG": json.dumps(config), "NODE_ENV": "test"},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    provider = OpenIdProvider(f"http://127.0.0.1:{port}", key, process, clients)
    try:
        _wait_until_listening(provider)
        yield provider
    finally:
        provider.stop()


def _wait_until_listening(provider: OpenIdProvider) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    discovery = f"{provider.issuer}/.well-known/openid-configuration"
    while time.monotonic() < deadline:
        if provider.process.poll() is not None:
            output = provider.process.stdout.read() if provider.process.stdout else ""
            raise AssertionError(f"the OpenID provider exited: {output[-2000:]}")
        with contextlib.suppress(requests.ConnectionError):
            if requests.get(discovery, timeout=1).ok:
                return
        time.sleep(0.1)
    raise AssertionError(f"the OpenID provider did not answer in {START_TIMEOUT_SECONDS}s")


def sign_in_at_provider(
    browser: requests.Session, provider: OpenIdProvider, authorization_url: str, login: str
) -> requests.Response:
    """Follow ``authorization_url`` through the provider's login and consent forms, as a
    person would; answers the provider's last redirect (to the client), not followed."""
    page = browser.get(authorization_url, allow_redirects=True, timeout=10)
    for _ in range(4):
        action = _form_action(page.text)
        if action is None:
            raise AssertionError(f"no form at the provider: {page.status_code} {page.text[:500]}")
        fields = {"prompt": "login", "login": login, "password": "any"}
        if 'value="consent"' in page.text:
            fields = {"prompt": "consent"}
        answer = browser.post(urljoin(page.url, action), data=fields, allow_redirects=False)
        while answer.is_redirect:
            target = urljoin(answer.url, answer.headers["Location"])
            if not target.startswith(provider.issuer + "/"):
                return answer
            answer = browser.get(target, allow_redirects=False, timeout=10)
        page = answer
    raise AssertionError("the provider asked for more than a login and a consent")


def _form_action(html: str) -> str | None:
    found = re.search(r'<form[^>]*action="([^"]+)"', html)
    return unescape(found.group(1)) if found else None


def id_token_from_provider(
    provider: OpenIdProvider, client_id: str, login: str, *, nonce: str | None = None
) -> str:
    """An ID token the provider issues to ``client_id`` (a public native client) after
    ``login`` signs in at its forms: what a mobile app's SDK hands to its backend."""
    from authlib.common.security import generate_token
    from authlib.integrations.requests_client import OAuth2Session

    metadata = requests.get(f"{provider.issuer}/.well-known/openid-configuration", timeout=5).json()
    client = OAuth2Session(
        client_id,
        scope="openid email profile",
        redirect_uri=NATIVE_REDIRECT_URI,
        code_challenge_method="S256",
        token_endpoint_auth_method="none",
    )
    verifier = generate_token(48)
    extra = {"nonce": nonce} if nonce else {}
    url, state = client.create_authorization_url(
        metadata["authorization_endpoint"], code_verifier=verifier, **extra
    )
    answer = sign_in_at_provider(requests.Session(), provider, url, login)
    token = client.fetch_token(
        metadata["token_endpoint"],
        authorization_response=answer.headers["Location"],
        code_verifier=verifier,
        state=state,
    )
    return str(token["id_token"])


NATIVE_REDIRECT_URI = "http://127.0.0.1/native-app/callback"


def native_client(client_id: str) -> dict[str, Any]:
    """A mobile app's client at the provider: public (no secret), PKCE, loopback redirect."""
    return {
        "client_id": client_id,
        "application_type": "native",
        "token_endpoint_auth_method": "none",
        "redirect_uris": [NATIVE_REDIRECT_URI],
    }


def web_client(client_id: str, secret: str, redirect_uri: str) -> dict[str, Any]:
    """The service's own client: confidential; a loopback redirect on any port (the tests'
    servers pick theirs), as oidc-provider allows native-type clients."""
    return {
        "client_id": client_id,
        "client_secret": secret,
        "application_type": "native",
        "token_endpoint_auth_method": "client_secret_post",
        "redirect_uris": [redirect_uri],
    }


SERVICE_CALLBACK = "http://127.0.0.1/api/v1/auth/oidc/test/callback"


@contextlib.contextmanager
def provider_for_service(client_id: str) -> Iterator[tuple[OpenIdProvider, dict[str, str]]]:
    """The provider with a served service registered as its confidential client
    ``client_id``, and the service's settings for it (provider "test"; the redirect URI on
    the server's own port, which the end-to-end starter fills in for ``{port}``)."""
    secret = f"{client_id}-secret-" + "z" * 32
    with running_provider(clients=[web_client(client_id, secret, SERVICE_CALLBACK)]) as provider:
        yield (
            provider,
            {
                "AUTH_OIDC_PROVIDERS": "test",
                "AUTH_OIDC_TEST_ISSUER": provider.issuer,
                "AUTH_OIDC_TEST_CLIENT_ID": client_id,
                "AUTH_OIDC_TEST_CLIENT_SECRET": secret,
                "AUTH_PUBLIC_URL": "http://127.0.0.1:{port}",
            },
        )
