"""A software passkey for the API tests: an ES256 key pair that answers WebAuthn ceremonies as a
browser with a platform authenticator would, built with Yubico's python-fido2 (its CBOR,
COSE and authenticator-data encoders; nothing is encoded by hand here). The browser tests
use Chrome's own virtual authenticator instead."""

import os
from hashlib import sha256
from typing import Any

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from fido2.cose import ES256
from fido2.utils import websafe_decode
from fido2.utils import websafe_encode
from fido2.webauthn import AttestationObject
from fido2.webauthn import AttestedCredentialData
from fido2.webauthn import AuthenticatorData
from fido2.webauthn import CollectedClientData

FLAG = AuthenticatorData.FLAG


class SoftAuthenticator:
    def __init__(
        self, *, rp_id: str = "localhost", origin: str = "http://localhost:5000",
        user_verified: bool = True, backed_up: bool = False,
    ) -> None:  # fmt: skip
        self.rp_id, self.origin = rp_id, origin
        self.user_verified, self.backed_up = user_verified, backed_up
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.credential_id = os.urandom(32)
        self.sign_count = 0
        self.user_handle: bytes | None = None

    @property
    def id(self) -> str:
        return websafe_encode(self.credential_id)

    def create(self, options: dict[str, Any]) -> dict[str, Any]:
        """navigator.credentials.create(), as WebAuthn JSON."""
        self.user_handle = websafe_decode(options["user"]["id"])
        client_data = self._client_data("webauthn.create", options["challenge"])
        attested = AttestedCredentialData.create(
            b"\0" * 16, self.credential_id, ES256.from_cryptography_key(self.key.public_key())
        )
        auth_data = AuthenticatorData.create(
            sha256(self.rp_id.encode()).digest(), self._flags() | FLAG.AT, self.sign_count, attested
        )
        attestation = AttestationObject.create("none", auth_data, {})
        return self._credential(
            {
                "clientDataJSON": websafe_encode(bytes(client_data)),
                "attestationObject": websafe_encode(bytes(attestation)),
                "transports": ["internal"],
            }
        )

    def get(self, options: dict[str, Any], *, sign_count: int | None = None) -> dict[str, Any]:
        """navigator.credentials.get(), as WebAuthn JSON; the count moves forward unless
        ``sign_count`` says otherwise (a cloned authenticator)."""
        self.sign_count = self.sign_count + 1 if sign_count is None else sign_count
        client_data = self._client_data("webauthn.get", options["challenge"])
        auth_data = AuthenticatorData.create(
            sha256(self.rp_id.encode()).digest(), self._flags(), self.sign_count
        )
        signature = self.key.sign(bytes(auth_data) + client_data.hash, ec.ECDSA(hashes.SHA256()))
        return self._credential(
            {
                "clientDataJSON": websafe_encode(bytes(client_data)),
                "authenticatorData": websafe_encode(bytes(auth_data)),
                "signature": websafe_encode(signature),
                "userHandle": websafe_encode(self.user_handle or b""),
            }
        )

    def _client_data(self, kind: str, challenge: str) -> CollectedClientData:
        return CollectedClientData.create(kind, websafe_decode(challenge), self.origin)

    def _flags(self) -> "AuthenticatorData.FLAG":
        flags = FLAG.UP
        if self.user_verified:
            flags |= FLAG.UV
        if self.backed_up:
            flags |= FLAG.BE | FLAG.BS
        return flags

    def _credential(self, response: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": self.id,
            "rawId": self.id,
            "type": "public-key",
            "response": response,
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }
