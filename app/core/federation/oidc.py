"""Signing in with an OpenID provider, and the identities that link provider accounts to users.

An identity is keyed by the provider's issuer and subject, never by email. A first sign-in
with a new identity:
- whose email belongs to no user creates one, without a usable password, its email verified
  if the provider says so;
- whose email belongs to a user is linked to it only when the provider says the address is
  verified and the user's own address is verified too; otherwise it is refused
  (``link_required``), and the user signs in as before and links the identity from settings.

Refusals carry a ``reason`` from a fixed list (``REASONS``), the same one the web flow puts in
its error redirect, and are audited as ``oidc_failed``.
"""

import hashlib
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError

from app.core import attempts
from app.core import clock
from app.core.accounts import accounts
from app.core.audit import audit
from app.core.audit.origin import ClientInfo
from app.core.bounds import can_be_row_id
from app.core.errors import AuthServiceError
from app.core.errors import NotFoundError
from app.core.factors import second_factor
from app.core.factors import step_up
from app.core.federation.providers import IdTokenRejected
from app.core.federation.providers import Provider
from app.core.federation.providers import ProviderUnavailable
from app.core.federation.providers import oidc_providers
from app.core.hooks import events
from app.core.identities import canonical_email
from app.core.models import OidcIdentity
from app.core.models import Passkey
from app.core.models import SpentOidcProof
from app.core.models import User
from app.core.passwords.security import has_usable_password
from app.core.sessions import sessions
from app.core.sessions.callers import Caller
from app.core.sessions.sessions import SignedIn
from app.core.tokens.tokens import AMR_MFA
from app.core.tokens.tokens import TokenPolicy
from app.core.tokens.verifier import MAX_NUMERIC_DATE
from app.database import db
from app.database import rows_changed

# RFC 8176 has no value for "signed in at another provider"; "fed" is what the service's
# tokens carry for it (README), beside "mfa" when a trusted provider did a second factor.
AMR_FEDERATED = "fed"

MAX_SUBJECT_CHARS = 255  # OidcIdentity.subject

REASONS = {
    "unknown_provider": (404, "No such provider."),
    "provider_unavailable": (503, "The provider could not be reached; try again later."),
    "invalid_id_token": (401, "The ID token is not valid."),
    "id_token_replayed": (401, "This ID token was already used."),
    "email_missing": (401, "The provider gave no email address."),
    "link_required": (
        401,
        "An account with this email exists. Sign in to it and link this provider from your "
        "settings.",
    ),
    "identity_taken": (409, "This provider account is linked to another user."),
    "account_disabled": (401, "This account is disabled."),
    "invalid_state": (401, "The sign-in's state does not match; start again."),
    "flow_expired": (401, "The sign-in took too long or was already finished; start again."),
    "provider_error": (401, "The provider did not sign you in."),
    "code_exchange_failed": (401, "The provider refused the sign-in's code."),
    "invalid_app_request": (
        400,
        "An app's sign-in needs code_challenge (PKCE S256, 43 characters) and a state of at "
        "most 512 characters.",
    ),
    "invalid_code": (401, "The sign-in code is not valid or has expired; start again."),
    "code_replayed": (401, "This sign-in code was already used; start again."),
    "invalid_code_verifier": (401, "The code verifier does not match the sign-in's challenge."),
    "last_way_in": (
        409,
        "This is the account's last way to sign in; set a password or link another provider first.",
    ),
}


class OidcError(AuthServiceError):
    """A refused OpenID sign-in or link; details name the reason."""

    code = "oidc_failed"

    def __init__(self, reason: str) -> None:
        status, message = REASONS[reason]
        super().__init__(message, details={"reason": reason})
        self.reason = reason
        self.status = status


@dataclass(frozen=True)
class ProviderIdentity:
    """Who the provider says signed in."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    preferred_username: str | None
    amr: tuple[str, ...]


def provider_names() -> list[str]:
    return oidc_providers().names()


def exchange_id_token(
    *,
    provider: str,
    id_token: str,
    nonce: str | None,
    dialect: str,
    policy: TokenPolicy,
    client: ClientInfo,
) -> SignedIn:
    """A native app's sign-in: the ID token its provider SDK obtained, good once."""
    found = find_provider(provider)
    attempts.reserve_credential_check(account=None)
    claims = verified_claims(found, id_token, nonce=nonce)
    spend_once(id_token, _expiry(claims), reason="id_token_replayed")
    identity = identity_of(found, claims)
    user = user_signing_in(found, identity)
    return open_signed_in(found, user, identity, dialect, policy, client)


def list_identities(*, user_id: int) -> list[OidcIdentity]:
    return list(
        db.session.scalars(
            select(OidcIdentity).where(OidcIdentity.user_id == user_id).order_by(OidcIdentity.id)
        )
    )


def unlink(*, caller: Caller, identity_id: int) -> None:
    """Remove one of the caller's identities, after a recent proof of who they are, unless it
    is their last way in."""
    step_up.require_recent_authentication(caller=caller)
    user_id = caller.user.id
    _lock_user(user_id)
    identity = db.session.get(OidcIdentity, identity_id) if can_be_row_id(identity_id) else None
    if identity is None or identity.user_id != user_id:
        db.session.rollback()
        raise NotFoundError("Identity not found.")
    user = db.session.get(User, user_id)
    assert user is not None
    if not _other_way_in(user, identity.id):
        db.session.rollback()
        raise OidcError("last_way_in")
    db.session.delete(identity)
    events.emit("identity.unlinked", user=user, provider=identity.provider)
    db.session.commit()
    audit.record(
        event="identity_unlinked",
        outcome="success",
        user_id=user_id,
        details={"provider": identity.provider},
    )


def _lock_user(user_id: int) -> None:
    """Take the user's row (PostgreSQL) or the database's write lock (SQLite) first, so two
    removals of a user's last two ways in run one after the other and the second sees the
    first."""
    db.session.execute(update(User).where(User.id == user_id).values(updated_at=clock.utcnow()))


def purge_spent_proofs() -> int:
    deleted = rows_changed(delete(SpentOidcProof).where(SpentOidcProof.expires_at < clock.utcnow()))
    db.session.commit()
    return deleted


def find_provider(name: str) -> Provider:
    found = oidc_providers().get(name)
    if found is None:
        raise OidcError("unknown_provider")
    return found


def verified_claims(
    found: Provider, id_token: str, *, nonce: str | None, access_token: str | None = None
) -> dict[str, Any]:
    try:
        claims = dict(found.verify_id_token(id_token, nonce=nonce, access_token=access_token))
    except ProviderUnavailable as error:
        raise refused(found, "provider_unavailable") from error
    except IdTokenRejected as error:
        raise refused(found, "invalid_id_token", check=error.reason) from error
    unbounded = _unbounded_claim(claims)
    if unbounded:
        raise refused(found, "invalid_id_token", check=f"{unbounded} out of bounds")
    return claims


def _unbounded_claim(claims: dict[str, Any]) -> str | None:
    """The first claim the service keeps or computes with whose value it cannot hold, even
    from a configured provider's signature: a subject longer than its column, a time beyond
    9999-12-31."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not 0 < len(subject) <= MAX_SUBJECT_CHARS:
        return "sub"
    expiry = claims.get("exp")
    if isinstance(expiry, bool) or not isinstance(expiry, int):
        return "exp"
    if not 0 <= expiry <= MAX_NUMERIC_DATE:
        return "exp"
    return None


def spend_once(proof: str, expires_at: datetime, *, reason: str) -> None:
    """Keep the proof's digest; a second use finds it there and is refused with ``reason``
    (one INSERT, so of two concurrent uses exactly one passes)."""
    db.session.add(SpentOidcProof(digest=_digest(proof), expires_at=expires_at))
    try:
        db.session.commit()
    except IntegrityError as error:
        db.session.rollback()
        audit.record(event="oidc_failed", outcome="failure", details={"reason": reason})
        raise OidcError(reason) from error


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _expiry(claims: dict[str, Any]) -> datetime:
    return datetime.fromtimestamp(int(claims["exp"]), tz=UTC)


def identity_of(found: Provider, claims: dict[str, Any]) -> ProviderIdentity:
    email = claims.get("email")
    amr = claims.get("amr")
    username = claims.get("preferred_username")
    return ProviderIdentity(
        issuer=found.settings.issuer,
        subject=str(claims["sub"]),
        email=canonical_email(email) if isinstance(email, str) else None,
        email_verified=claims.get("email_verified") is True,
        preferred_username=username if isinstance(username, str) else None,
        amr=tuple(a for a in amr if isinstance(a, str)) if isinstance(amr, list) else (),
    )


def user_signing_in(found: Provider, identity: ProviderIdentity) -> User:
    """The user this identity signs in: linked before, linked now, or new. Two first
    sign-ins of one identity at once (two devices) both end with the one user the first
    made: the second, refused by the unique keys, finds it."""
    linked = _linked(identity)
    if linked is not None:
        return _signed_in_again(linked, identity)
    try:
        return _first_sign_in(found, identity)
    except OidcError as error:
        raced = _linked(identity) if error.reason == "identity_taken" else None
        if raced is None:
            raise
        return _signed_in_again(raced, identity)


def _signed_in_again(linked: OidcIdentity, identity: ProviderIdentity) -> User:
    linked.last_used_at = clock.utcnow()
    if identity.email:
        linked.email = identity.email
    db.session.commit()
    user = db.session.get(User, linked.user_id)
    assert user is not None
    return user


def _first_sign_in(found: Provider, identity: ProviderIdentity) -> User:
    if identity.email is None:
        raise refused(found, "email_missing")
    existing = accounts.find_user_by_email(identity.email)
    if existing is None:
        return _new_user(found, identity)
    if not (identity.email_verified and existing.email_verified_at is not None):
        raise refused(found, "link_required", user_id=existing.id)
    _link(found, existing, identity)
    return existing


def link_identity(found: Provider, user_id: int, identity: ProviderIdentity) -> None:
    """Link a provider account to a signed-in user (from settings); one linked to another
    user stays theirs."""
    linked = _linked(identity)
    if linked is not None and linked.user_id != user_id:
        raise refused(found, "identity_taken", user_id=user_id)
    if linked is not None:
        return
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise refused(found, "account_disabled", user_id=user_id)
    _link(found, user, identity)


def _linked(identity: ProviderIdentity) -> OidcIdentity | None:
    return db.session.scalar(
        select(OidcIdentity).where(
            OidcIdentity.issuer == identity.issuer, OidcIdentity.subject == identity.subject
        )
    )


def _new_user(found: Provider, identity: ProviderIdentity) -> User:
    assert identity.email is not None
    user = accounts.stage_user_without_password(
        email=identity.email,
        username=identity.preferred_username,
        email_verified=identity.email_verified,
    )
    with _taken_if_raced():
        db.session.flush()  # the new user's id, for its identity
        _stage_identity(found, user, identity)
        db.session.commit()
    audit.record(
        event="register",
        outcome="success",
        user_id=user.id,
        details={"provider": found.settings.name},
    )
    return user


def _link(found: Provider, user: User, identity: ProviderIdentity) -> None:
    with _taken_if_raced():
        _stage_identity(found, user, identity)
        db.session.commit()
    audit.record(
        event="identity_linked",
        outcome="success",
        user_id=user.id,
        details={"provider": found.settings.name},
    )


def _stage_identity(found: Provider, user: User, identity: ProviderIdentity) -> None:
    events.emit("identity.linked", user=user, provider=found.settings.name)
    db.session.add(
        OidcIdentity(
            user_id=user.id,
            provider=found.settings.name,
            issuer=identity.issuer,
            subject=identity.subject,
            email=identity.email,
            last_used_at=clock.utcnow(),
        )
    )


@contextmanager
def _taken_if_raced() -> Iterator[None]:
    """Writing a new identity (and its new user): a concurrent first sign-in of the same
    identity or email wins the race, and this one is answered as taken."""
    try:
        yield
    except IntegrityError as error:
        db.session.rollback()
        raise OidcError("identity_taken") from error


def open_signed_in(
    found: Provider,
    user: User,
    identity: ProviderIdentity,
    dialect: str,
    policy: TokenPolicy,
    client: ClientInfo,
) -> SignedIn:
    """The session a provider's sign-in opens on ``dialect``'s face, which must have a second
    step: an account with a second factor takes it unless a trusted provider did one."""
    if not user.is_active:
        raise refused(found, "account_disabled", user_id=user.id)
    proved = identity.email_verified and identity.email is not None
    if proved and identity.email == user.email and user.email_verified_at is None:
        # The provider proved this very address: it counts as verified here too.
        accounts.mark_email_verified(user)
        db.session.commit()
    sessions.require_may_sign_in(user)
    provider_did_mfa = found.settings.trust_mfa and AMR_MFA in identity.amr
    if not provider_did_mfa:
        second_factor.require_no_second_factor(
            user=user,
            dialect=dialect,
            second_step=True,
            first_factor=AMR_FEDERATED,
            device_name=client.device_name,
        )
    amr: Sequence[str] = (AMR_FEDERATED, AMR_MFA) if provider_did_mfa else (AMR_FEDERATED,)
    return sessions.complete_sign_in(
        user=user,
        dialect=dialect,
        policy=policy,
        client=client,
        amr=amr,
        event="oidc_login",
        details={"provider": found.settings.name},
    )


def _other_way_in(user: User, leaving_identity_id: int) -> bool:
    """Whether the user can still sign in once this identity is gone: a password, another
    identity, or a passkey."""
    if has_usable_password(user.password_hash):
        return True
    others = db.session.scalar(
        select(func.count())
        .select_from(OidcIdentity)
        .where(OidcIdentity.user_id == user.id, OidcIdentity.id != leaving_identity_id)
    )
    passkeys = db.session.scalar(
        select(func.count()).select_from(Passkey).where(Passkey.user_id == user.id)
    )
    return bool(others) or bool(passkeys)


def refused(
    found: Provider, reason: str, *, user_id: int | None = None, check: str = ""
) -> OidcError:
    """The refusal for ``reason``, audited as oidc_failed (with which check failed, never
    the token): ``raise refused(...)``."""
    details = {"provider": found.settings.name, "reason": reason}
    if check:
        details["check"] = check
    audit.record(event="oidc_failed", outcome="failure", user_id=user_id, details=details)
    return OidcError(reason)
