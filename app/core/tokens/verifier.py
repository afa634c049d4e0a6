"""Checking a token this service signed: one parse, one signature check, the service's rules.

Every token the service accepts passes through ``TokenVerifier.decode``. joserfc reads the
compact JWS (RFC 7515 7.1), strictly: three segments of unpadded, canonical base64url, JSON
objects, bounded sizes, registered header members of the right types. The signature is
checked with one of the service's own keys, picked by ``kid`` among those loaded at startup
(app/core/tokens/keys.py): the header's ``alg`` must agree with the key, never choose it, and
a key never comes from the token (``jku``, ``x5u`` and ``jwk`` are not looked at). Then the
service's own rules (RFC 8725): the header's ``typ``, no critical extension, the shape the
service mints, ``exp``/``nbf``/``iat``, ``iss`` and ``aud``. tests/core/tokens/test_verifier.py
holds this reading to PyJWT's verdict on generated tokens.
"""

import json
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from functools import lru_cache
from typing import Any
from typing import cast

from flask import Flask
from flask import current_app
from joserfc.errors import JoseError
from joserfc.jwa import EdDSAAlgorithm
from joserfc.jwk import GuestProtocol
from joserfc.jwk import JWKRegistry
from joserfc.jwk import Key
from joserfc.jwk import KeyParameters
from joserfc.jwk import OctKey
from joserfc.jws import JWSRegistry
from joserfc.jws import deserialize_compact

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


class _EdDSAAsPyJWTWritesIt(EdDSAAlgorithm):
    """RFC 9864 deprecates "EdDSA" for the fully specified "Ed25519"; the service's tokens
    say "EdDSA" because PyJWT, which signs them, writes that, so joserfc's warning about the
    name would be raised on every token and tells an operator nothing they can change."""

    security_warning = ""  # joserfc warns when this is not empty


class _ServiceTokens(JWSRegistry):
    algorithms = {  # noqa: RUF012 (joserfc reads its algorithms from the class)
        **JWSRegistry.algorithms,
        "EdDSA": _EdDSAAsPyJWTWritesIt(),
    }
    # The longest signature of the keys the service loads: RS256 with an 8192-bit key.
    max_signature_length = 1400


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
    _jose_keys: Mapping[str, Key] = field(init=False, repr=False, compare=False)
    _registry: JWSRegistry = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # A signature check is the costliest step of a request (ES256: about 150 us). A token
        # whose exact text has already verified against these keys need not be checked
        # again: only successes are kept, the keys never change in a running process, and
        # the claim, time, issuer and audience checks below still run on every use.
        signed_payload = self._signed_payload
        if self.cache_size:
            signed_payload = lru_cache(maxsize=self.cache_size)(signed_payload)
        object.__setattr__(self, "_remembered_payload", signed_payload)
        jose_keys = {kid: _jose_key(key) for kid, key in self.keys.items()}
        algorithms = sorted({key.algorithm for key in self.keys.values()})
        object.__setattr__(self, "_jose_keys", jose_keys)
        object.__setattr__(self, "_registry", _ServiceTokens(algorithms=algorithms))

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
        if len(raw) > MAX_TOKEN_CHARS:
            raise TokenInvalidError()
        try:
            return deserialize_compact(raw, self._key_named_by, registry=self._registry).payload
        except (JoseError, ValueError) as error:
            raise TokenInvalidError() from error

    def _key_named_by(self, token: GuestProtocol) -> Key:
        """The key the header's ``kid`` names (the signing key when it names none); the key
        decides the algorithm, the header's ``alg`` must only agree with it."""
        header = token.headers()
        kid = header.get("kid", self.default_kid)
        key = self.keys.get(kid) if isinstance(kid, str) else None
        if key is None or header.get("alg") != key.algorithm or _header_problem(header):
            raise TokenInvalidError()
        return self._jose_keys[key.kid]

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


def _json_object(data: bytes) -> dict[str, Any]:
    try:
        value = json.loads(data)
    except (ValueError, RecursionError) as error:
        raise TokenInvalidError() from error
    if not isinstance(value, dict):
        raise TokenInvalidError()
    return value


def _jose_key(key: VerificationKey) -> Key:
    """The key as joserfc holds it, bound to its one algorithm."""
    parameters: KeyParameters = {"alg": key.algorithm, "kid": key.kid}
    if key.public_jwk is None:
        return OctKey.import_key(key.key, parameters)
    return JWKRegistry.import_key(dict(key.public_jwk), parameters=parameters)


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
