"""A native app's provider sign-in through the system browser (RFC 8252).

The app opens ``/auth/oidc/<provider>/login?next=<its redirect URI>&code_challenge=<S256>`` in
the system browser. The redirect URI must be one of AUTH_NATIVE_REDIRECT_URIS, exactly, and the
challenge is the PKCE S256 (RFC 7636) of a verifier only the app holds. The provider's return
then hands the app, at that URI, a one-time code instead of a session: sealed (the user, the
identity the provider proved and the challenge, encrypted and authenticated), good for
``CODE_SECONDS`` and once. The app trades it with its verifier at ``POST /auth/oidc/exchange``
for tokens in the body; another app that registered the same scheme and caught the redirect
holds a code it cannot use. Tokens never travel in a URL.
"""

import hmac
import json
import re
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from authlib.oauth2.rfc7636 import create_s256_code_challenge
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet
from flask import current_app

from app.core import attempts
from app.core import clock
from app.core.audit import audit
from app.core.audit.origin import ClientInfo
from app.core.factors.app_associations import associations
from app.core.federation import oidc
from app.core.federation.oidc import OidcError
from app.core.federation.oidc import ProviderIdentity
from app.core.federation.providers import Provider
from app.core.models import User
from app.core.secret_box import purpose_fernet
from app.core.sessions.sessions import SignedIn
from app.core.tokens.tokens import TokenPolicy
from app.database import db

CODE_SECONDS = 60
CODE_PURPOSE = "oidc-app-code"
S256 = "S256"
MAX_STATE_CHARS = 512
# base64url of a SHA-256, unpadded (RFC 7636 4.2), and a verifier's alphabet (4.1).
_CHALLENGE = re.compile(r"^[A-Za-z0-9_-]{43}$")
_VERIFIER = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")


@dataclass(frozen=True)
class AppReturn:
    """Where a system-browser sign-in goes back to its app, and what the app sent along."""

    redirect_uri: str
    code_challenge: str | None
    challenge_method: str | None
    state: str | None

    def url(self, **params: str) -> str:
        """The redirect URI with ``params`` and the app's own state added to its query."""
        if self.state is not None:
            params["state"] = self.state
        joiner = "&" if "?" in self.redirect_uri else "?"
        return self.redirect_uri + joiner + urlencode(params)


def app_return(
    *,
    next_uri: str | None,
    code_challenge: str | None,
    challenge_method: str | None,
    state: str | None,
) -> AppReturn | None:
    """The app a sign-in returns to when ``next`` is one of its registered redirect URIs
    (exactly); None for a browser's sign-in, whose ``next`` is a path on the frontend."""
    if next_uri is None or next_uri not in associations().redirect_uris:
        return None
    return AppReturn(next_uri, code_challenge, challenge_method, state)


def check_request(app: AppReturn) -> None:
    """An app's sign-in carries a PKCE S256 challenge (plain would put the verifier itself
    in the URL) and a state of reasonable size."""
    if app.challenge_method not in (None, S256) or not _CHALLENGE.match(app.code_challenge or ""):
        raise OidcError("invalid_app_request")
    if app.state is not None and not (0 < len(app.state) <= MAX_STATE_CHARS):
        raise OidcError("invalid_app_request")


def as_flow(app: AppReturn) -> dict[str, Any]:
    return {"redirect_uri": app.redirect_uri, "challenge": app.code_challenge, "state": app.state}


def from_flow(flow: dict[str, Any]) -> AppReturn:
    return AppReturn(flow["redirect_uri"], flow["challenge"], S256, flow["state"])


def hand_over(found: Provider, user: User, identity: ProviderIdentity, app: AppReturn) -> str:
    """The URL that takes the app its one-time code for ``user``'s sign-in."""
    sealed = {
        "provider": found.settings.name,
        "user": user.id,
        "identity": {
            "issuer": identity.issuer,
            "subject": identity.subject,
            "email": identity.email,
            "email_verified": identity.email_verified,
            "preferred_username": identity.preferred_username,
            "amr": list(identity.amr),
        },
        "challenge": app.code_challenge,
    }
    now = int(clock.utcnow().timestamp())
    code = _sealer().encrypt_at_time(json.dumps(sealed).encode(), now).decode()
    audit.record(
        event="oidc_app_code",
        outcome="issued",
        user_id=user.id,
        details={"provider": found.settings.name},
    )
    return app.url(code=code)


def redeem(
    *, code: str, code_verifier: str, dialect: str, policy: TokenPolicy, client: ClientInfo
) -> SignedIn:
    """The session a one-time code opens for the app that holds its verifier: once, within
    ``CODE_SECONDS``; a wrong verifier spends the code too."""
    attempts.reserve_credential_check(account=None)
    sealed = _opened(code)
    found = oidc.find_provider(sealed["provider"])
    expires = clock.utcnow() + timedelta(seconds=CODE_SECONDS)
    oidc.spend_once(f"app-code:{code}", expires, reason="code_replayed")
    if not _proves(code_verifier, sealed["challenge"]):
        raise oidc.refused(found, "invalid_code_verifier", user_id=sealed["user"])
    user = db.session.get(User, sealed["user"])
    if user is None:
        raise oidc.refused(found, "invalid_code")
    identity = sealed["identity"]
    identity["amr"] = tuple(identity["amr"])
    return oidc.open_signed_in(found, user, ProviderIdentity(**identity), dialect, policy, client)


def _opened(code: str) -> dict[str, Any]:
    now = int(clock.utcnow().timestamp())
    try:
        opened: dict[str, Any] = json.loads(
            _sealer().decrypt_at_time(code.encode(), CODE_SECONDS, now)
        )
    except (InvalidToken, ValueError) as error:
        audit.record(event="oidc_failed", outcome="failure", details={"reason": "invalid_code"})
        raise OidcError("invalid_code") from error
    return opened


def _proves(verifier: str, challenge: str) -> bool:
    if not _VERIFIER.match(verifier):
        return False
    # types-Authlib leaves create_s256_code_challenge() unannotated.
    computed: str = create_s256_code_challenge(verifier)  # type: ignore[no-untyped-call]
    return hmac.compare_digest(computed, challenge)


def _sealer() -> MultiFernet:
    return purpose_fernet(current_app.config["AUTH_MFA_ENCRYPTION_KEY"], CODE_PURPOSE)
