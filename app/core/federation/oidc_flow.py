"""The web redirect flow of an OpenID sign-in (or of linking a provider from settings).

The flow's state, nonce and PKCE verifier are not kept by the server: they travel in one
cookie, sealed (encrypted and authenticated) with a key derived from AUTH_MFA_ENCRYPTION_KEY,
good for ``FLOW_SECONDS`` and for one callback (its state is spent like an ID token). The
views set that cookie HttpOnly and SameSite=Lax on the callback's path only: the provider's
return is a cross-site top-level navigation, which Lax lets through and Strict would not.
"""

import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from authlib.integrations.base_client import OAuthError
from cryptography.fernet import InvalidToken
from flask import current_app
from requests import RequestException

from app.core import attempts
from app.core import clock
from app.core.audit.origin import ClientInfo
from app.core.factors import step_up
from app.core.federation import app_handoff
from app.core.federation import oidc
from app.core.federation.app_handoff import AppReturn
from app.core.federation.providers import Provider
from app.core.federation.providers import ProviderUnavailable
from app.core.secret_box import purpose_fernet
from app.core.sessions.callers import Caller
from app.core.sessions.sessions import SignedIn
from app.core.tokens.tokens import TokenPolicy

FLOW_SECONDS = 600
FLOW_PURPOSE = "oidc-flow"
MAX_NEXT_LENGTH = 2048
# A path on the frontend: one slash, then no second slash or backslash at its start, and
# nothing a browser would read as another host or scheme anywhere.
_RELATIVE_PATH = re.compile(r"^/(?![/\\])[^\\\s\x00-\x1f\x7f]*$")


@dataclass(frozen=True)
class FlowStart:
    authorization_url: str
    sealed_flow: str


@dataclass(frozen=True)
class Linked:
    next_path: str


@dataclass(frozen=True)
class SignedInByProvider:
    signed_in: SignedIn
    next_path: str


@dataclass(frozen=True)
class HandedToApp:
    """A native app's sign-in: the app's redirect URI with its one-time code."""

    app_url: str


def safe_next(value: str | None) -> str:
    """``next`` when it is a path on the frontend, else "/"."""
    if not value or len(value) > MAX_NEXT_LENGTH or not _RELATIVE_PATH.match(value):
        return "/"
    return value


def begin(
    *,
    provider: str,
    redirect_uri: str,
    next_path: str | None,
    link: Caller | None = None,
    app: AppReturn | None = None,
) -> FlowStart:
    """The provider's authorization URL (state, nonce, PKCE S256) and the sealed flow; with
    ``link``, a flow that links the provider account to the caller's, after a recent proof of
    who they are (a second factor when the account has one: a provider that the service
    trusts for its own second factor would otherwise add a way around it); with ``app``, a
    native app's sign-in, which ends in a one-time code for the app (app_handoff)."""
    found = oidc.find_provider(provider)
    if link is not None:
        step_up.require_recent_authentication(caller=link, factor_change=True)
    if app is not None:
        app_handoff.check_request(app)
    try:
        found.metadata()
        started = found.client.create_authorization_url(redirect_uri)
    except ProviderUnavailable as error:
        raise oidc.refused(found, "provider_unavailable") from error
    flow = {
        "provider": found.settings.name,
        "state": started["state"],
        "nonce": started["nonce"],
        "verifier": started["code_verifier"],
        "redirect_uri": redirect_uri,
        "next": safe_next(next_path),
        "link": None if link is None else link.user.id,
        "app": None if app is None else app_handoff.as_flow(app),
    }
    return FlowStart(started["url"], _sealer().encrypt(json.dumps(flow).encode()).decode())


def finish(
    *,
    provider: str,
    params: dict[str, str],
    sealed_flow: str | None,
    dialect: str,
    policy: TokenPolicy,
    client: ClientInfo,
) -> SignedInByProvider | Linked | HandedToApp:
    """The provider's return: check the flow, exchange the code, verify the ID token, then
    sign in (or link, or hand a native app its one-time code)."""
    found = oidc.find_provider(provider)
    attempts.reserve_credential_check(account=None)
    flow = _opened(found, sealed_flow, params)
    expires = clock.utcnow() + timedelta(seconds=FLOW_SECONDS)
    oidc.spend_once(f"state:{flow['state']}", expires, reason="invalid_state")
    claims = _claims_after_exchange(found, flow, params)
    identity = oidc.identity_of(found, claims)
    if flow["link"] is not None:
        oidc.link_identity(found, int(flow["link"]), identity)
        return Linked(flow["next"])
    user = oidc.user_signing_in(found, identity)
    if flow.get("app") is not None:
        app = app_handoff.from_flow(flow["app"])
        return HandedToApp(app_handoff.hand_over(found, user, identity, app))
    return SignedInByProvider(
        oidc.open_signed_in(found, user, identity, dialect, policy, client), flow["next"]
    )


def app_of(sealed_flow: str | None) -> AppReturn | None:
    """The native app a sealed flow returns to, if it opens and names one: where the
    callback sends a refusal."""
    if not sealed_flow:
        return None
    try:
        flow = json.loads(_sealer().decrypt(sealed_flow.encode(), FLOW_SECONDS))
    except (InvalidToken, ValueError):
        return None
    return None if flow.get("app") is None else app_handoff.from_flow(flow["app"])


def _opened(found: Provider, sealed_flow: str | None, params: dict[str, str]) -> dict[str, Any]:
    if not sealed_flow:
        raise oidc.refused(found, "flow_expired")
    try:
        flow: dict[str, Any] = json.loads(_sealer().decrypt(sealed_flow.encode(), FLOW_SECONDS))
    except (InvalidToken, ValueError) as error:
        raise oidc.refused(found, "flow_expired") from error
    if flow.get("provider") != found.settings.name or params.get("state") != flow.get("state"):
        raise oidc.refused(found, "invalid_state")
    # RFC 9207: a provider that names itself must be the one the flow went to (mix-up), and
    # one that says it always names itself must have done so.
    if "iss" in params and params["iss"].rstrip("/") != found.settings.issuer:
        raise oidc.refused(found, "invalid_state")
    if "iss" not in params and _names_itself(found):
        raise oidc.refused(found, "invalid_state", check="iss missing")
    if "error" in params or not params.get("code"):
        raise oidc.refused(found, "provider_error", check=params.get("error", "no code")[:64])
    return flow


def _names_itself(found: Provider) -> bool:
    try:
        metadata = found.metadata()
    except ProviderUnavailable:
        return False
    return metadata.get("authorization_response_iss_parameter_supported") is True


def _claims_after_exchange(
    found: Provider, flow: dict[str, Any], params: dict[str, str]
) -> dict[str, Any]:
    try:
        # types-Authlib leaves fetch_access_token() unannotated.
        token = found.client.fetch_access_token(  # type: ignore[no-untyped-call]
            redirect_uri=flow["redirect_uri"], code=params["code"], code_verifier=flow["verifier"]
        )
    except (OAuthError, RequestException, ValueError) as error:
        raise oidc.refused(found, "code_exchange_failed", check=type(error).__name__) from error
    if "id_token" not in token:
        raise oidc.refused(found, "invalid_id_token", check="no id_token")
    claims = oidc.verified_claims(
        found, token["id_token"], nonce=flow["nonce"], access_token=token.get("access_token")
    )
    if not claims.get("email"):
        claims |= _userinfo_email(found, token, claims["sub"])
    return claims


def _userinfo_email(found: Provider, token: dict[str, Any], subject: str) -> dict[str, Any]:
    """The email claims from userinfo, when the ID token carries none (OpenID Connect Core
    5.3.2: userinfo's sub must be the ID token's)."""
    try:
        info = found.client.userinfo(token=token)
    except (OAuthError, RequestException, ValueError):
        return {}
    if info.get("sub") != subject:
        return {}
    return {key: info[key] for key in ("email", "email_verified") if key in info}


def _sealer() -> Any:
    return purpose_fernet(current_app.config["AUTH_MFA_ENCRYPTION_KEY"], FLOW_PURPOSE)
