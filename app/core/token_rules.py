"""What every token must look like before its signature is even checked (RFC 8725).

flask-jwt-extended fills in a missing ``type`` (as "access") and ``jti`` (as None) after it
decodes; these rules see the token as it was sent, so such a token is refused instead.
"""

from typing import Any

from flask_jwt_extended.exceptions import JWTDecodeError

TOKEN_TYPES = ("access", "refresh", "client")
SESSION_TOKEN_TYPES = ("access", "refresh")
_NUMERIC_DATES = ("exp", "iat")


def check_token_shape(header: dict[str, Any], claims: dict[str, Any]) -> None:
    """Raise JWTDecodeError unless the header and claims have the service's shape."""
    problem = _header_problem(header) or _claims_problem(claims)
    if problem:
        raise JWTDecodeError(problem)


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
