"""The service's tokens: what each kind carries, each face's lifetimes, and reading them back.

A user token carries ``sub`` (the user id as a string), ``type`` (``access`` or
``refresh``), ``jti``, ``iat``, ``nbf``, ``exp``, ``sid`` (the session), and the identity claims
the documents show: ``roles``, ``username`` and ``userId``. A client token carries the client
instead of a user and session. The claims inform; the database decides
(``callers.find_caller``). Signing is ``token_minting.py``'s (one writer for every kind);
checking is ``token_verifier.py``'s (one verifier for every path in, flask-jwt-extended's
included); this module puts the claims together and takes them apart.
"""

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import Protocol

from flask import Flask
from flask import current_app

from app.core.errors import TokenInvalidError
from app.core.models import ApiClient
from app.core.tokens.minting import token_minter
from app.core.tokens.verifier import token_verifier


@dataclass(frozen=True)
class TokenPolicy:
    """Lifetimes of the tokens a dialect hands out; no refresh token when refresh_ttl is None."""

    access_ttl: timedelta
    refresh_ttl: timedelta | None


def policy_for(name: str) -> TokenPolicy:
    """The lifetimes configured as ``AUTH_<NAME>_ACCESS_TOKEN_SECONDS`` and, when the
    dialect has refresh tokens, ``AUTH_<NAME>_REFRESH_TOKEN_SECONDS``."""
    config = current_app.config
    refresh_seconds = config.get(f"AUTH_{name}_REFRESH_TOKEN_SECONDS")
    return TokenPolicy(
        access_ttl=timedelta(seconds=config[f"AUTH_{name}_ACCESS_TOKEN_SECONDS"]),
        refresh_ttl=None if refresh_seconds is None else timedelta(seconds=refresh_seconds),
    )


class Holder(Protocol):
    """Whom a token names: an ORM ``User``, a ``CallingUser``, or a ``TokenSubject``."""

    @property
    def id(self) -> int: ...

    @property
    def username(self) -> str: ...

    @property
    def role_names(self) -> Sequence[str]: ...


@dataclass(frozen=True)
class TokenSubject:
    """Just what a token says of its user, when that is all a statement returned."""

    id: int
    username: str
    role_names: tuple[str, ...]


class SessionState(Protocol):
    """What a refresh token is minted from: an ORM ``Session``, or any record with these fields."""

    @property
    def id(self) -> str: ...

    @property
    def refresh_jti(self) -> str | None: ...

    @property
    def refresh_issued_at(self) -> datetime | None: ...

    @property
    def expires_at(self) -> datetime: ...

    @property
    def amr(self) -> str | None: ...

    @property
    def auth_time(self) -> datetime: ...


@dataclass(frozen=True)
class IssuedTokens:
    access_token: str
    access_expires_in: int
    refresh_token: str | None
    refresh_expires_at: datetime | None
    session_id: str


@dataclass(frozen=True)
class RefreshClaims:
    user_id: int
    session_id: str
    jti: str
    # exp - iat: the refresh lifetime of the face that opened the session, which every
    # successor inherits wherever it is refreshed.
    lifetime: timedelta


@dataclass(frozen=True)
class ClientClaims:
    client_id: str
    jti: str
    # The client's key version the token was minted under (0 before keys were replaced).
    key_version: int = 0


CLIENT_TOKEN = "client"  # noqa: S105 (a token type, not a secret)
# RFC 8176 authentication method references, as access tokens carry them in "amr".
AMR_PWD = "pwd"  # noqa: S105 (a method name)
AMR_OTP = "otp"
AMR_MFA = "mfa"
AMR_HARDWARE_KEY = "hwk"
AMR_SOFTWARE_KEY = "swk"
# The methods that prove a second factor: a one-time code (TOTP or recovery code), a passkey,
# or a provider's "mfa" that the service trusts.
SECOND_FACTOR_METHODS = frozenset({AMR_OTP, AMR_HARDWARE_KEY, AMR_SOFTWARE_KEY, AMR_MFA})


def proves_second_factor(methods: Sequence[str]) -> bool:
    return not SECOND_FACTOR_METHODS.isdisjoint(methods)


def mint_client_token(*, client: ApiClient, ttl: timedelta) -> str:
    """A machine token: it names the client, not a user, so no user endpoint accepts it."""
    return token_minter().mint(
        kind=CLIENT_TOKEN,
        subject=client.client_id,
        ttl=ttl,
        claims={"clientId": client.client_id, "kv": client.key_version},
    )


def decode_client_token(raw: str) -> ClientClaims:
    claims = decode_any_token(raw)
    client_id, jti = claims.get("sub"), claims.get("jti")
    if claims.get("type") != CLIENT_TOKEN or not isinstance(client_id, str):
        raise TokenInvalidError()
    key_version = claims.get("kv", 0)
    if not isinstance(jti, str) or type(key_version) is not int:
        raise TokenInvalidError()
    return ClientClaims(client_id=client_id, jti=jti, key_version=key_version)


def mint_access_token(
    *,
    user: Holder,
    session_id: str,
    ttl: timedelta,
    auth_time: datetime,
    amr: Sequence[str] = (AMR_PWD,),
) -> str:
    """An access token of the session. ``auth_time`` (OpenID Connect's claim) is when the
    holder last proved who they are; ``fresh`` is when that proof stops counting for a
    sensitive action, flask-jwt-extended's way of saying it, so ``@jwt_required(fresh=True)``
    refuses a token minted before a recent proof (app/core/factors/step_up.py decides)."""
    proved_at = int(auth_time.timestamp())
    extra = current_app.extensions.get(_EXTRA_CLAIMS_KEY)
    claims = (
        (extra(user=user, session_id=session_id) if extra else {})
        | _identity_claims(user, session_id)
        | {
            "amr": list(amr),
            "auth_time": proved_at,
            "fresh": proved_at + current_app.config["AUTH_REAUTH_MAX_AGE_SECONDS"],
        }
    )
    return token_minter().mint(kind="access", subject=str(user.id), ttl=ttl, claims=claims)


ExtraClaims = Callable[..., dict[str, Any]]
_EXTRA_CLAIMS_KEY = "authsvc.extra_claims"


def set_extra_claims(app: Flask, source: ExtraClaims | None) -> None:
    """``source(user=, session_id=)`` adds claims to every access token of a user (the
    CUSTOM_ACCESS_TOKEN hook); the service's own claims always win over its."""
    if source is None:
        app.extensions.pop(_EXTRA_CLAIMS_KEY, None)
    else:
        app.extensions[_EXTRA_CLAIMS_KEY] = source


def login_methods(session: SessionState) -> list[str]:
    """How the session's login proved who it was (RFC 8176 values)."""
    return (session.amr or AMR_PWD).split()


def mint_refresh_token(*, user: Holder, session: SessionState) -> str:
    """Encode the session's current refresh token.

    Its jti, iat and exp are the session's, so minting it again yields the same token (the
    same header and claims; with ES256 another of the signatures, which are randomized):
    that is how a refresh within the reuse grace window hands back the current successor.
    """
    assert session.refresh_jti and session.refresh_issued_at
    issued_at = int(session.refresh_issued_at.timestamp())
    claims = _identity_claims(user, session.id) | {
        "jti": session.refresh_jti,
        "iat": issued_at,
        "nbf": issued_at,
        "exp": int(session.expires_at.timestamp()),
    }
    return token_minter().mint(kind="refresh", subject=str(user.id), claims=claims)


def issue_tokens(*, user: Holder, session: SessionState, policy: TokenPolicy) -> IssuedTokens:
    refresh_token = None
    if policy.refresh_ttl is not None:
        refresh_token = mint_refresh_token(user=user, session=session)
    return IssuedTokens(
        access_token=mint_access_token(
            user=user,
            session_id=session.id,
            ttl=policy.access_ttl,
            auth_time=session.auth_time,
            amr=login_methods(session),
        ),
        access_expires_in=int(policy.access_ttl.total_seconds()),
        refresh_token=refresh_token,
        refresh_expires_at=session.expires_at if refresh_token else None,
        session_id=session.id,
    )


def decode_refresh_token(raw: str) -> RefreshClaims:
    claims = decode_any_token(raw)
    sub, sid, jti = claims.get("sub"), claims.get("sid"), claims.get("jti")
    if claims.get("type") != "refresh" or not isinstance(sid, str) or not isinstance(jti, str):
        raise TokenInvalidError()
    if not isinstance(sub, str) or not sub.isdigit():
        raise TokenInvalidError()
    lifetime = timedelta(seconds=claims["exp"] - claims["iat"])
    return RefreshClaims(user_id=int(sub), session_id=sid, jti=jti, lifetime=lifetime)


def decode_any_token(raw: str) -> dict[str, Any]:
    """The claims of a token this service signed, of any type, if it has not expired."""
    return token_verifier().decode(raw)


def _identity_claims(user: Holder, session_id: str) -> dict[str, Any]:
    return {
        "sid": session_id,
        "roles": list(user.role_names),
        "username": user.username,
        "userId": user.id,
    }
