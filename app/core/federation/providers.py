"""The OpenID providers users may sign in with (AUTH_OIDC_PROVIDERS), through Authlib.

Each provider is found by discovery: its ``/.well-known/openid-configuration`` is fetched once
per process (at startup, where the process that loads the app also serves or forks the
workers) and kept; a provider that cannot be reached is logged and asked again on a later
sign-in, at most once per AUTH_OIDC_RETRY_SECONDS, so a provider that is down never stops the
service nor stalls every request on its timeout. Its signing keys (JWKS) are fetched with the
metadata and again when a token names a key the set lacks, also at most once per
AUTH_OIDC_RETRY_SECONDS, so tokens naming made-up keys cannot make the service hammer the
provider. Signatures are checked by joserfc and claims by Authlib's ID token rules.
"""

import contextlib
import logging
import re
import threading
import time
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import cast
from urllib.parse import urlsplit

from authlib.integrations.flask_client import OAuth
from authlib.integrations.flask_client.apps import FlaskOAuth2App
from authlib.oidc.core import CodeIDToken
from authlib.oidc.core import IDToken
from flask import Flask
from flask import current_app
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from joserfc.jws import JWSRegistry

from app.core.configuration import ConfigurationError

log = logging.getLogger(__name__)

_EXTENSION = "authsvc.oidc_providers"
NAME = re.compile(r"^[a-z][a-z0-9]{0,31}$")
DEFAULT_SCOPES = "openid email profile"
HTTP_TIMEOUT_SECONDS = 5.0
# Clock skew allowed on exp, iat and nbf.
LEEWAY_SECONDS = 60
# Never HMAC (it would be keyed by the client secret) nor "none".
ASYMMETRIC_ALGORITHMS = (
    "RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA",
)  # fmt: skip


class ProviderUnavailable(Exception):
    """The provider's discovery document or keys could not be fetched."""


class IdTokenRejected(Exception):
    """The ID token failed a check; ``reason`` names which, never the token."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class ProviderSettings:
    name: str
    issuer: str
    client_id: str
    client_secret: str | None
    scopes: str
    audiences: tuple[str, ...]
    trust_mfa: bool

    @property
    def accepted_audiences(self) -> tuple[str, ...]:
        return (self.client_id, *self.audiences)


@dataclass
class Provider:
    """One provider: its settings, Authlib's client, and what discovery found."""

    settings: ProviderSettings
    client: FlaskOAuth2App
    retry_seconds: float
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _failed_at: float = float("-inf")
    _jwks_fetched_at: float = float("-inf")

    def metadata(self) -> dict[str, Any]:
        """The discovery document, fetched now if it is not yet known."""
        with self._lock:
            if "_loaded_at" in self.client.server_metadata:
                return cast(dict[str, Any], self.client.server_metadata)
            if time.monotonic() - self._failed_at < self.retry_seconds:
                raise ProviderUnavailable(self.settings.name)
            try:
                metadata = self.client.load_server_metadata()
                _check_issuer(self.settings, metadata)
                self.client.fetch_jwk_set(force=True)
            except Exception as error:  # requests, JSON and HTTP errors alike
                self._failed_at = time.monotonic()
                self.client.server_metadata.pop("_loaded_at", None)
                log.warning(
                    "OpenID provider unavailable",
                    extra={"fields": {"provider": self.settings.name, "error": _kind(error)}},
                )
                raise ProviderUnavailable(self.settings.name) from error
            self._jwks_fetched_at = time.monotonic()
            return cast(dict[str, Any], metadata)

    def verify_id_token(
        self, id_token: str, *, nonce: str | None, access_token: str | None = None
    ) -> IDToken:
        """The ID token's claims once its signature (by the provider's keys), issuer,
        audience (the client id or one of AUDIENCES), times and nonce are checked."""
        metadata = self.metadata()
        try:
            token = self._decode(id_token, metadata)
        except JoseError as error:
            raise IdTokenRejected(_reason(error)) from error
        claims_cls = CodeIDToken if access_token else IDToken
        params = {"nonce": nonce, "client_id": self._authorized_party(token.claims)}
        if access_token:
            params["access_token"] = access_token
        options = {
            "iss": {"essential": True, "values": [self.settings.issuer]},
            "aud": {"essential": True, "values": list(self.settings.accepted_audiences)},
        }
        claims = claims_cls(token.claims, token.header, options, params)
        try:
            claims.validate(leeway=LEEWAY_SECONDS)
        except JoseError as error:
            raise IdTokenRejected(_reason(error)) from error
        if nonce is None and "nonce" in claims:
            raise IdTokenRejected("nonce")
        return claims

    def _decode(self, id_token: str, metadata: dict[str, Any]) -> Any:
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        registry = JWSRegistry(
            algorithms=[alg for alg in offered if alg in ASYMMETRIC_ALGORITHMS],
            strict_check_header=False,
        )
        try:
            return jwt.decode(id_token, self._key_set(), registry=registry)
        except InvalidKeyIdError:
            if not self._refetch_keys():
                raise
            return jwt.decode(id_token, self._key_set(), registry=registry)

    def _key_set(self) -> KeySet:
        return KeySet.import_key_set(self.client.fetch_jwk_set())

    def _refetch_keys(self) -> bool:
        """Fetch the JWKS again (a key the token names is new), unless it was fetched
        lately; whether it was."""
        with self._lock:
            if time.monotonic() - self._jwks_fetched_at < self.retry_seconds:
                return False
            self._jwks_fetched_at = time.monotonic()
        try:
            self.client.fetch_jwk_set(force=True)
        except Exception as error:
            raise ProviderUnavailable(self.settings.name) from error
        return True

    def _authorized_party(self, claims: dict[str, Any]) -> str:
        """The client id the token was issued to, as Authlib's azp rule expects it: the
        token's azp when it is one of ours (a native app's token for the server's audience),
        else our audience it names, else the web client's id (and the audience check fails)."""
        accepted = self.settings.accepted_audiences
        azp = claims.get("azp")
        if isinstance(azp, str) and azp in accepted:
            return azp
        audience = claims.get("aud")
        named = [audience] if isinstance(audience, str) else audience or []
        return next((a for a in named if a in accepted), self.settings.client_id)


class Providers:
    def __init__(self, app: Flask, settings: list[ProviderSettings]) -> None:
        oauth = OAuth(app)
        retry = float(app.config["AUTH_OIDC_RETRY_SECONDS"])
        self._providers = {
            one.name: Provider(one, cast(FlaskOAuth2App, _register(oauth, one)), retry)
            for one in settings
        }

    def names(self) -> list[str]:
        return list(self._providers)

    def get(self, name: str) -> Provider | None:
        return self._providers.get(name)

    def discover_all(self) -> None:
        for provider in self._providers.values():
            # A failure is logged, and discovery is tried again on a later sign-in.
            with contextlib.suppress(ProviderUnavailable):
                provider.metadata()


def _register(oauth: OAuth, settings: ProviderSettings) -> Any:
    # types-Authlib leaves register() unannotated.
    return oauth.register(  # type: ignore[no-untyped-call]
        settings.name,
        client_id=settings.client_id,
        client_secret=settings.client_secret,
        server_metadata_url=f"{settings.issuer}/.well-known/openid-configuration",
        client_kwargs={
            "scope": settings.scopes,
            "code_challenge_method": "S256",
            "default_timeout": HTTP_TIMEOUT_SECONDS,
            "token_endpoint_auth_method": (
                "client_secret_post" if settings.client_secret else "none"
            ),
        },
    )


def read_settings(config: dict[str, Any]) -> list[ProviderSettings]:
    """AUTH_OIDC_PROVIDERS and each one's AUTH_OIDC_<NAME>_* settings, checked."""
    found = []
    for name in config.get("AUTH_OIDC_PROVIDERS") or []:
        if not NAME.match(name):
            raise ConfigurationError(
                f"AUTH_OIDC_PROVIDERS: {name!r} is not a provider name (a-z, then a-z or 0-9)"
            )
        found.append(_provider_settings(config, name))
    return found


def _provider_settings(config: dict[str, Any], name: str) -> ProviderSettings:
    prefix = f"AUTH_OIDC_{name.upper()}_"

    def setting(suffix: str, default: str = "") -> str:
        return str(config.get(prefix + suffix) or default).strip()

    issuer = setting("ISSUER").rstrip("/")
    client_id = setting("CLIENT_ID")
    if not issuer or not client_id:
        raise ConfigurationError(f"{prefix}ISSUER and {prefix}CLIENT_ID must both be set")
    if not _is_safe_issuer(issuer):
        raise ConfigurationError(f"{prefix}ISSUER must be an https URL (http only on loopback)")
    scopes = setting("SCOPES", DEFAULT_SCOPES)
    if "openid" not in scopes.split():
        raise ConfigurationError(f"{prefix}SCOPES must include openid")
    return ProviderSettings(
        name=name,
        issuer=issuer,
        client_id=client_id,
        client_secret=setting("CLIENT_SECRET") or None,
        scopes=scopes,
        audiences=tuple(a.strip() for a in setting("AUDIENCES").split(",") if a.strip()),
        trust_mfa=setting("TRUST_MFA", "false").lower() in ("1", "true", "yes", "on"),
    )


def _is_safe_issuer(issuer: str) -> bool:
    parts = urlsplit(issuer)
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


class IssuerMismatch(Exception):
    """OpenID Connect Discovery 4.3: the document names another issuer than the one
    configured, so none of its tokens would pass; a misconfiguration, logged by name."""


def _check_issuer(settings: ProviderSettings, metadata: dict[str, Any]) -> None:
    if str(metadata.get("issuer", "")).rstrip("/") != settings.issuer:
        raise IssuerMismatch()


def _kind(error: Exception) -> str:
    return type(error).__name__


def _reason(error: JoseError) -> str:
    return str(getattr(error, "error", None) or type(error).__name__)


def install_oidc_providers(app: Flask) -> None:
    providers = Providers(app, read_settings(app.config))
    app.extensions[_EXTENSION] = providers
    if app.config["APP_ENV"] != "testing":
        providers.discover_all()


def oidc_providers() -> Providers:
    return cast(Providers, current_app.extensions[_EXTENSION])
