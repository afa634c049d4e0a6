"""Checking a token this service signed: one PyJWT decode, then the service's own rules.

Every token the service accepts passes through ``TokenVerifier.decode``: the signature with
the configured key and algorithm only (the key never comes from the token: ``kid``, ``jku``
and ``x5u`` are not looked at), ``exp``/``nbf``/``iat``, and then the shape the service
itself mints (RFC 8725). The verifier is built once at startup from the configuration, so
checking a token reads no configuration and decodes the token exactly once.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from typing import Any

import jwt
from flask import Flask
from flask import current_app

from app.core.errors import TokenExpiredError
from app.core.errors import TokenInvalidError

TOKEN_TYPES = ("access", "refresh", "client")
SESSION_TOKEN_TYPES = ("access", "refresh")
_NUMERIC_DATES = ("exp", "iat")
_EXTENSION_KEY = "authsvc.token_verifier"
_REQUIRED_CLAIMS = ["exp", "iat", "sub", "jti"]


@dataclass(frozen=True)
class TokenVerifier:
    key: str
    algorithms: tuple[str, ...]
    leeway: int
    _decoder: jwt.PyJWT = field(
        default_factory=lambda: jwt.PyJWT(options={"require": _REQUIRED_CLAIMS}), repr=False
    )

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "TokenVerifier":
        return cls(
            key=config["JWT_SECRET_KEY"],
            algorithms=tuple(config["JWT_DECODE_ALGORITHMS"]),
            leeway=int(config.get("JWT_DECODE_LEEWAY", 0)),
        )

    def decode(self, raw: str) -> dict[str, Any]:
        """The claims of a valid token; TokenExpiredError or TokenInvalidError otherwise."""
        try:
            decoded = self._decoder.decode_complete(
                raw, key=self.key, algorithms=list(self.algorithms), leeway=self.leeway
            )
        except jwt.ExpiredSignatureError as error:
            # The signature held; an ill-formed token is invalid whether or not it expired.
            claims = self._decoder.decode(raw, options={"verify_signature": False})
            if _claims_problem(claims):
                raise TokenInvalidError() from error
            raise TokenExpiredError() from error
        except (jwt.InvalidTokenError, ValueError, TypeError) as error:
            raise TokenInvalidError() from error
        claims = decoded["payload"]
        if _header_problem(decoded["header"]) or _claims_problem(claims):
            raise TokenInvalidError()
        return claims


def install_token_verifier(app: Flask) -> None:
    app.extensions[_EXTENSION_KEY] = TokenVerifier.from_config(app.config)


def token_verifier() -> TokenVerifier:
    return current_app.extensions[_EXTENSION_KEY]


def _header_problem(header: dict[str, Any]) -> str | None:
    # RFC 7515 4.1.11: a recipient that does not understand a critical extension must refuse.
    if "crit" in header:
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
    return isinstance(value, int) and not isinstance(value, bool)
