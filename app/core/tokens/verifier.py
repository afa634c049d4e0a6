"""Checking a token this service signed: one parse, one signature check, the service's rules.

Every token the service accepts passes through ``TokenVerifier.decode``. It reads the
compact JWS (RFC 7515 7.1) itself, strictly: three base64url segments of the URL-safe
alphabet, canonical encoding, no padding, JSON objects in the header and payload. The
signature is checked with one of the service's own keys, picked by ``kid`` among those loaded
at startup (app/core/tokens/keys.py), by PyJWT's algorithm for that key only: the header's
``alg`` must agree with the key, never choose it, and a key never comes from the token
(``jku``, ``x5u`` and ``jwk`` are not looked at). Then ``exp``/``nbf``/``iat``, ``iss`` and
``aud``, and the shape the service itself mints (RFC 8725). Reading the token here rather
than through ``jwt.decode`` is what an authenticated request can afford: PyJWT's general
decode spends most of its time on options and checks this service never varies
(docs/benchmarks.md), and tests/core/tokens/test_verifier.py holds this reader to PyJWT's
verdict on generated tokens.
"""

import base64
import binascii
import json
import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from functools import lru_cache
from typing import Any
from typing import cast

from flask import Flask
from flask import current_app

from app.core import clock
from app.core.errors import TokenExpiredError
from app.core.errors import TokenInvalidError
from app.core.tokens.keys import KeySet
from app.core.tokens.keys import VerificationKey
from app.core.tokens.keys import key_set_of

TOKEN_TYPES = ("access", "refresh", "client")
SESSION_TOKEN_TYPES = ("access", "refresh")
MAX_TOKEN_CHARS = 8192
MAX_NUMERIC_DATE = 253_402_300_799  # 9999-12-31T23:59:59Z
_NUMERIC_DATES = ("exp", "iat")
_EXTENSION_KEY = "authsvc.token_verifier"
_COMPACT_JWS = re.compile(r"([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)")


@dataclass(frozen=True)
class TokenVerifier:
    keys: Mapping[str, VerificationKey]  # by kid
    default_kid: str  # the key a token without a kid (minted before kids) is checked with
    leeway: int
    issuer: str | None = None
    audiences: frozenset[str] = frozenset()
    # How many verified tokens each worker remembers; 0 checks every signature every time.
    cache_size: int = 0
    _remembered_payload: Callable[[str], bytes] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A signature check is the costliest step of a request (ES256: about 150 us). A token
        # whose exact text has already verified against these keys need not be checked
        # again: only successes are kept, the keys never change in a running process, and
        # the claim, time, issuer and audience checks below still run on every use.
        signed_payload = self._signed_payload
        if self.cache_size:
            signed_payload = lru_cache(maxsize=self.cache_size)(signed_payload)
        object.__setattr__(self, "_remembered_payload", signed_payload)

    @classmethod
    def from_config(cls, config: Mapping[str, Any], keys: KeySet) -> "TokenVerifier":
        return cls(
            keys=keys.verification,
            default_kid=keys.signing.kid,
            leeway=int(config.get("JWT_DECODE_LEEWAY", 0)),
            issuer=config.get("JWT_ISSUER"),
            audiences=frozenset(config.get("JWT_AUDIENCE") or ()),
            cache_size=int(config.get("AUTH_VERIFIED_TOKEN_CACHE_SIZE", 0)),
        )

    def decode(self, raw: str, *, allow_expired: bool = False) -> dict[str, Any]:
        """The claims of a valid token; TokenExpiredError or TokenInvalidError otherwise.
        ``allow_expired`` reads an expired token's claims (never to authenticate with)."""
        claims = _json_object(self._remembered_payload(raw))
        if _claims_problem(claims):
            raise TokenInvalidError()
        now = clock.utcnow().timestamp()
        if claims["iat"] > now + self.leeway or claims.get("nbf", 0) > now + self.leeway:
            raise TokenInvalidError()
        if claims["exp"] <= now - self.leeway and not allow_expired:
            raise TokenExpiredError()
        if claims.get("iss") != self.issuer or not self._is_for_us(claims):
            raise TokenInvalidError()
        return claims

    def _signed_payload(self, raw: str) -> bytes:
        """The payload of a well-formed token signed by one of the keys, as bytes (a third
        of the memory the claims take once parsed)."""
        signing_input, header, payload, signature = _parse_compact(raw)
        kid = header.get("kid", self.default_kid)
        key = self.keys.get(kid) if isinstance(kid, str) else None
        # The key decides the algorithm; the header's alg must only agree with it.
        if key is None or header.get("alg") != key.algorithm or _header_problem(header):
            raise TokenInvalidError()
        if not key.verifier.verify(signing_input, key.key, signature):
            raise TokenInvalidError()
        return payload

    def _is_for_us(self, claims: dict[str, Any]) -> bool:
        """RFC 7519 4.1.3: with audiences configured, the token must name one of them;
        without, a token that names any audience is meant for someone else."""
        if "aud" not in claims:
            return not self.audiences
        audience = claims["aud"]
        named = [audience] if isinstance(audience, str) else audience
        if not isinstance(named, list) or not all(isinstance(name, str) for name in named):
            return False
        return not self.audiences.isdisjoint(named)


def install_token_verifier(app: Flask) -> None:
    app.extensions[_EXTENSION_KEY] = TokenVerifier.from_config(app.config, key_set_of(app))


def token_verifier() -> TokenVerifier:
    return cast(TokenVerifier, current_app.extensions[_EXTENSION_KEY])


def _parse_compact(raw: str) -> tuple[bytes, dict[str, Any], bytes, bytes]:
    """The signing input, header, payload bytes and signature of a compact JWS."""
    parts = _COMPACT_JWS.fullmatch(raw) if len(raw) <= MAX_TOKEN_CHARS else None
    if parts is None:
        raise TokenInvalidError()
    header_segment, payload_segment, signature_segment = parts.groups()
    header = _json_object(_base64url(header_segment))
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    return signing_input, header, _base64url(payload_segment), _base64url(signature_segment)


def _base64url(segment: str) -> bytes:
    """Unpadded base64url, refusing a non-canonical encoding (other bits in the last
    character decode to the same bytes: one token must have one spelling)."""
    try:
        decoded = base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError) as error:
        raise TokenInvalidError() from error
    if base64.urlsafe_b64encode(decoded).rstrip(b"=") != segment.encode("ascii"):
        raise TokenInvalidError()
    return decoded


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise TokenInvalidError() from error
    if not isinstance(value, dict):
        raise TokenInvalidError()
    return value


def _header_problem(header: dict[str, Any]) -> str | None:
    # RFC 7515 4.1.11: a recipient that does not understand a critical extension must refuse;
    # b64 (RFC 7797) changes what is signed, so a token that carries it is not one of ours.
    if "crit" in header or "b64" in header:
        return "Unsupported critical header"
    if header.get("typ", "JWT") != "JWT":
        return "Unexpected token typ"
    return None


def _claims_problem(claims: dict[str, Any]) -> str | None:
    kind = claims.get("type")
    if kind not in TOKEN_TYPES:
        return "Missing or unknown type claim"
    if not _is_text(claims.get("jti"), 64) or not _is_text(claims.get("sub"), 64):
        return "Missing or malformed jti or sub claim"
    if any(not _is_seconds(claims.get(name)) for name in _NUMERIC_DATES):
        return "Missing or malformed exp or iat claim"
    if "nbf" in claims and not _is_seconds(claims["nbf"]):
        return "Malformed nbf claim"
    if kind in SESSION_TOKEN_TYPES and not _is_text(claims.get("sid"), 64):
        return "Missing or malformed sid claim"
    return None


def _is_text(value: Any, max_length: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= max_length


def _is_seconds(value: Any) -> bool:
    """RFC 7519 2 NumericDate, bounded to the instants a datetime holds, so a validly
    signed 10**20 is refused here rather than overflowing wherever it is used."""
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= MAX_NUMERIC_DATE
