"""Writing the service's JWTs: the claims flask-jwt-extended would write, signed in one step.

A token is the compact JWS of RFC 7515 7.1: the header, fixed for the process (``alg``,
``kid`` and ``typ``, sorted, as PyJWT writes them), the claims as compact JSON, and the
signature made by PyJWT's algorithm for the signing key (app/core/tokens/keys.py), whose key
is prepared once at startup. The claims are the ones flask-jwt-extended's
``create_access_token`` writes (``fresh``, ``iat``, ``jti``, ``type``, ``sub``, ``nbf``,
``aud``, ``iss``, ``exp``, then the service's own), in the same order, and its decoder reads
them as before; what is skipped is its per-call work: a configuration lookup and three
callbacks per token, and PyJWT's option handling and key preparation on every call, which
made minting a refresh's two tokens cost more than checking its token
(docs/benchmarks.md). tests/core/tokens/test_minting.py holds the two to the same output.
"""

import base64
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from typing import cast
from uuid import uuid4

from flask import Flask
from flask import current_app
from jwt.algorithms import Algorithm

from app.core import clock
from app.core.tokens.keys import KeySet
from app.core.tokens.keys import key_set_of

_EXTENSION_KEY = "authsvc.token_minter"
_COMPACT_SEPARATORS = (",", ":")


@dataclass(frozen=True)
class TokenMinter:
    algorithm: Algorithm
    key: Any  # prepared by the algorithm once: the secret's bytes, or the private key
    header_segment: str
    issuer: str | None
    audience: str | list[str] | None

    @classmethod
    def from_config(cls, config: Mapping[str, Any], keys: KeySet) -> "TokenMinter":
        signing = keys.signing
        header = {"alg": signing.algorithm, "kid": signing.kid, "typ": "JWT"}
        audiences = list(config.get("JWT_AUDIENCE") or ())
        return cls(
            algorithm=signing.verifier,
            key=signing.verifier.prepare_key(keys.encode_key),
            header_segment=_segment(json.dumps(header, separators=_COMPACT_SEPARATORS).encode()),
            issuer=config.get("JWT_ISSUER"),
            audience=audiences[0] if len(audiences) == 1 else audiences or None,
        )

    def mint(
        self,
        *,
        kind: str,
        subject: str,
        claims: Mapping[str, Any],
        ttl: timedelta | None = None,
    ) -> str:
        """A signed token of type ``kind`` for ``subject``, valid from now for ``ttl`` (no
        ``exp`` of its own when None: ``claims`` then carries the times). ``claims`` come
        last, so they override the standard ones."""
        now = clock.utcnow()
        issued_at = int(now.timestamp())
        payload: dict[str, Any] = {
            "fresh": False,
            "iat": issued_at,
            "jti": str(uuid4()),
            "type": kind,
            "sub": subject,
            "nbf": issued_at,
        }
        if self.audience:
            payload["aud"] = self.audience
        if self.issuer:
            payload["iss"] = self.issuer
        if ttl:
            payload["exp"] = int((now + ttl).timestamp())
        payload.update(claims)
        claims_segment = _segment(json.dumps(payload, separators=_COMPACT_SEPARATORS).encode())
        signing_input = f"{self.header_segment}.{claims_segment}"
        signature = self.algorithm.sign(signing_input.encode("ascii"), self.key)
        return f"{signing_input}.{_segment(signature)}"


def install_token_minter(app: Flask) -> None:
    app.extensions[_EXTENSION_KEY] = TokenMinter.from_config(app.config, key_set_of(app))


def token_minter() -> TokenMinter:
    return cast(TokenMinter, current_app.extensions[_EXTENSION_KEY])


def _segment(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")
