"""Passkeys (WebAuthn, with Duo's py_webauthn; no CBOR or COSE here): a signed-in user adds
them, and signs in with one alone or uses one as the second step of a password login.

Each ceremony has a challenge of its own, stored until it is used once or expires
(AUTH_WEBAUTHN_CHALLENGE_SECONDS); registration and the second step find theirs by the
challenge the browser signed, sign-in by the challengeId its options gave. A passwordless
sign-in needs user verification (the authenticator's PIN or biometric); a second step after
the password needs presence only. Each use moves the passkey's sign count forward by one
conditional UPDATE: an assertion whose count does not move forward (a cloned authenticator,
or the same assertion twice) is refused and audited.
"""

import hashlib
import hmac
import json
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import webauthn
from flask import current_app
from sqlalchemy import delete
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from webauthn.helpers import base64url_to_bytes
from webauthn.helpers import bytes_to_base64url
from webauthn.helpers import parse_authenticator_data
from webauthn.helpers import parse_client_data_json
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import AuthenticatorSelectionCriteria
from webauthn.helpers.structs import AuthenticatorTransport
from webauthn.helpers.structs import PublicKeyCredentialDescriptor
from webauthn.helpers.structs import ResidentKeyRequirement
from webauthn.helpers.structs import UserVerificationRequirement

from app.core import attempts
from app.core import clock
from app.core.audit import audit
from app.core.bounds import can_be_row_id
from app.core.errors import InvalidInputError
from app.core.errors import NotFoundError
from app.core.errors import PasskeyRefusedError
from app.core.factors import app_associations
from app.core.identities import normalize_email
from app.core.models import Passkey
from app.core.models import User
from app.core.models import WebAuthnChallenge
from app.core.tokens.tokens import AMR_HARDWARE_KEY
from app.core.tokens.tokens import AMR_MFA
from app.core.tokens.tokens import AMR_SOFTWARE_KEY
from app.database import db
from app.database import rows_changed

REGISTER = "register"
SIGN_IN = "sign_in"
SECOND_STEP = "second_step"
REAUTHENTICATE = "reauthenticate"
MAX_CREDENTIAL_ID_CHARS = 1400  # 1,023 bytes (the WebAuthn maximum) in base64url
MAX_NAME_CHARS = 100
_UNKNOWN_CHALLENGE = "The challenge is unknown, used or expired; start again."
_HANDLE_BYTES = 32


@dataclass(frozen=True)
class RelyingParty:
    id: str
    name: str
    origins: list[str]


@dataclass(frozen=True)
class SignInOptions:
    challenge_id: str
    options: dict[str, Any]


@dataclass(frozen=True)
class Assertion:
    """A passkey's assertion that verified: whose, and how it counts under RFC 8176."""

    user_id: int
    methods: tuple[str, ...]


def relying_party() -> RelyingParty:
    config = current_app.config
    frontend = urlsplit(config["AUTH_FRONTEND_URL"])
    origins = config["AUTH_WEBAUTHN_ORIGINS"] or [f"{frontend.scheme}://{frontend.netloc}"]
    return RelyingParty(
        id=config["AUTH_WEBAUTHN_RP_ID"] or frontend.hostname or "localhost",
        name=config["AUTH_WEBAUTHN_RP_NAME"],
        # An Android app's ceremonies come from its signing certificate, not a web origin.
        origins=[*origins, *app_associations.associations().android_origins()],
    )


def has_passkeys(*, user_id: int) -> bool:
    return (
        db.session.scalar(select(Passkey.id).where(Passkey.user_id == user_id).limit(1)) is not None
    )


def list_passkeys(*, user_id: int) -> list[Passkey]:
    return list(
        db.session.scalars(select(Passkey).where(Passkey.user_id == user_id).order_by(Passkey.id))
    )


def registration_options(*, user_id: int) -> dict[str, Any]:
    """Creation options for a new passkey of the user (WebAuthn JSON)."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFoundError("User not found.")
    rp = relying_party()
    handle = _user_handle(user_id)
    options = webauthn.generate_registration_options(
        rp_id=rp.id,
        rp_name=rp.name,
        user_name=user.email or user.username,
        user_id=handle,
        user_display_name=user.username,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
        exclude_credentials=_descriptors(list_passkeys(user_id=user_id)),
    )
    _store_challenge(options.challenge, REGISTER, user_id=user_id, user_handle=handle)
    db.session.commit()
    return _json(options)


def verify_registration(*, user_id: int, credential: dict[str, Any], name: str | None) -> Passkey:
    """Verify a new passkey's attestation and stage it (the caller commits, with the end of
    the other sessions); a refusal commits the challenge spent."""
    rp = relying_party()
    challenge = _signed_challenge(credential)
    handle = _spend_challenge_of(challenge, REGISTER, user_id=user_id)
    try:
        verified = webauthn.verify_registration_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origins,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as error:
        db.session.commit()  # the challenge stays spent
        raise PasskeyRefusedError("The passkey could not be verified.") from error
    credential_id = bytes_to_base64url(verified.credential_id)
    if db.session.scalar(select(Passkey.id).where(Passkey.credential_id == credential_id)):
        db.session.commit()
        raise PasskeyRefusedError("This passkey is already registered.")
    now = clock.utcnow()
    passkey = Passkey(
        user_id=user_id,
        credential_id=credential_id,
        public_key=bytes_to_base64url(verified.credential_public_key),
        user_handle=bytes_to_base64url(handle),
        sign_count=verified.sign_count,
        backed_up=verified.credential_backed_up,
        transports=_transports(credential),
        name=(name or "Passkey")[:MAX_NAME_CHARS],
        created_at=now,
    )
    db.session.add(passkey)
    db.session.flush()  # its id, for the caller's answer; the caller commits
    return passkey


def delete_passkey(*, user_id: int, passkey_id: int) -> None:
    """The caller commits, with the end of the other sessions."""
    if not can_be_row_id(passkey_id):
        raise NotFoundError("Passkey not found.")
    removed = rows_changed(
        delete(Passkey).where(Passkey.id == passkey_id, Passkey.user_id == user_id)
    )
    if removed != 1:
        db.session.rollback()
        raise NotFoundError("Passkey not found.")


def remove_all(*, user_id: int) -> None:
    """The caller commits."""
    db.session.execute(delete(Passkey).where(Passkey.user_id == user_id))


def sign_in_options(*, email: str | None) -> SignInOptions:
    """Request options for a passwordless sign-in: for the passkeys of ``email`` when one is
    given, else for any discoverable passkey. An address without passkeys gets a made-up
    credential id that is the same on every call, so the answer does not tell whether an
    account exists or has passkeys: every entry has the decoy's shape (no ``transports``,
    a hint the decoy could only make up)."""
    rp = relying_party()
    allowed: list[PublicKeyCredentialDescriptor] = []
    if email is not None:
        user_id = db.session.scalar(select(User.id).where(User.email == normalize_email(email)))
        passkeys = list_passkeys(user_id=user_id) if user_id is not None else []
        allowed = _descriptors(passkeys, with_transports=False) or [_decoy(email)]
    options = webauthn.generate_authentication_options(
        rp_id=rp.id,
        allow_credentials=allowed,
        user_verification=UserVerificationRequirement.REQUIRED,
    )
    challenge_id = _store_challenge(options.challenge, SIGN_IN, user_id=None)
    db.session.commit()
    return SignInOptions(challenge_id=challenge_id, options=_json(options))


def second_step_options(*, user_id: int) -> dict[str, Any] | None:
    """Request options for the passkeys of a login held for its second factor; None when the
    account has none."""
    return _options_for_own_passkeys(user_id, SECOND_STEP)


def reauthentication_options(*, user_id: int) -> dict[str, Any] | None:
    """Request options for a signed-in user proving who they are again with one of their
    passkeys (app/core/factors/step_up.py); None when the account has none."""
    return _options_for_own_passkeys(user_id, REAUTHENTICATE)


def _options_for_own_passkeys(user_id: int, purpose: str) -> dict[str, Any] | None:
    passkeys = list_passkeys(user_id=user_id)
    if not passkeys:
        return None
    options = webauthn.generate_authentication_options(
        rp_id=relying_party().id,
        allow_credentials=_descriptors(passkeys),
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _store_challenge(options.challenge, purpose, user_id=user_id)
    db.session.commit()
    return _json(options)


def verify_sign_in(*, challenge_id: str, credential: dict[str, Any]) -> Assertion:
    """The user a passwordless sign-in proves, its challenge spent."""
    challenge = _spend_challenge_by_id(challenge_id)
    return _verify_assertion(credential, challenge, user_id=None, user_verification=True)


def verify_second_step(*, user_id: int, credential: dict[str, Any]) -> Assertion:
    """The second step of a password login, with one of the user's passkeys."""
    return _verify_own_passkey(user_id, credential, SECOND_STEP)


def verify_reauthentication(*, user_id: int, credential: dict[str, Any]) -> Assertion:
    """A signed-in user's proof, with one of their passkeys, that they are who they are."""
    return _verify_own_passkey(user_id, credential, REAUTHENTICATE)


def _verify_own_passkey(user_id: int, credential: dict[str, Any], purpose: str) -> Assertion:
    challenge = _signed_challenge(credential)
    _spend_challenge_of(challenge, purpose, user_id=user_id)
    return _verify_assertion(credential, challenge, user_id=user_id, user_verification=False)


def purge_expired_challenges() -> int:
    deleted = rows_changed(
        delete(WebAuthnChallenge).where(WebAuthnChallenge.expires_at <= clock.utcnow())
    )
    db.session.commit()
    return deleted


def _verify_assertion(
    credential: dict[str, Any], challenge: bytes, *, user_id: int | None, user_verification: bool
) -> Assertion:
    passkey = _passkey_of(credential, user_id)
    attempt = attempts.reserve_credential_check(
        account=f"user:{passkey.user_id}" if passkey else None
    )
    if passkey is None or not _handle_matches(passkey, credential):
        raise PasskeyRefusedError("The passkey could not be verified.")
    rp = relying_party()
    try:
        verified = webauthn.verify_authentication_response(
            credential=credential,
            expected_challenge=challenge,
            expected_rp_id=rp.id,
            expected_origin=rp.origins,
            credential_public_key=base64url_to_bytes(passkey.public_key),
            credential_current_sign_count=passkey.sign_count,
            require_user_verification=user_verification,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as error:
        _record_refusal(passkey, credential)
        raise PasskeyRefusedError("The passkey could not be verified.") from error
    if not _count_moved(passkey, verified.new_sign_count):
        _record_refusal(passkey, credential)
        raise PasskeyRefusedError("The passkey could not be verified.")
    attempt.succeeded()
    method = AMR_SOFTWARE_KEY if passkey.backed_up else AMR_HARDWARE_KEY
    methods = (method, AMR_MFA) if verified.user_verified else (method,)
    return Assertion(user_id=passkey.user_id, methods=methods)


def _handle_matches(passkey: Passkey, credential: dict[str, Any]) -> bool:
    """An assertion that names a user handle must name the passkey's owner's (WebAuthn
    7.2 step 6): an authenticator never answers for one user with another's handle."""
    response = credential.get("response")
    handle = response.get("userHandle") if isinstance(response, dict) else None
    if handle in (None, ""):
        return True
    if not isinstance(handle, str) or len(handle) > MAX_CREDENTIAL_ID_CHARS:
        return False
    try:
        asserted = base64url_to_bytes(handle)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(asserted, base64url_to_bytes(passkey.user_handle))


def _count_moved(passkey: Passkey, new_count: int) -> bool:
    """Record the use: the sign count moves forward (or both stay 0, for authenticators that
    keep no count), in one conditional UPDATE, so one assertion is accepted once."""
    now = clock.utcnow()
    moved = rows_changed(
        update(Passkey)
        .where(
            Passkey.id == passkey.id,
            or_(Passkey.sign_count < new_count, (Passkey.sign_count == 0) & (new_count == 0)),
        )
        .values(sign_count=new_count, last_used_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return moved == 1


def _record_refusal(passkey: Passkey, credential: dict[str, Any]) -> None:
    """Audit a refused assertion; a sign count that went backwards is a cloned authenticator."""
    count = _asserted_sign_count(credential)
    cloned = (
        count is not None and (count > 0 or passkey.sign_count > 0) and count <= passkey.sign_count
    )
    audit.record(
        event="passkey_cloned" if cloned else "mfa_failed",
        outcome="failure",
        user_id=passkey.user_id,
        details={"passkey_id": passkey.id, "sign_count": count, "stored": passkey.sign_count}
        if cloned
        else {"method": "passkey"},
    )


def _asserted_sign_count(credential: dict[str, Any]) -> int | None:
    try:
        data = base64url_to_bytes(credential["response"]["authenticatorData"])
        return parse_authenticator_data(data).sign_count
    except (WebAuthnException, ValueError, KeyError, TypeError):
        return None


def _passkey_of(credential: dict[str, Any], user_id: int | None) -> Passkey | None:
    raw_id = credential.get("id") if isinstance(credential, dict) else None
    if not isinstance(raw_id, str) or not 0 < len(raw_id) <= MAX_CREDENTIAL_ID_CHARS:
        return None
    query = select(Passkey).where(Passkey.credential_id == raw_id)
    if user_id is not None:
        query = query.where(Passkey.user_id == user_id)
    return db.session.scalar(query)


def _signed_challenge(credential: dict[str, Any]) -> bytes:
    """The challenge in the credential's client data (checked again by py_webauthn)."""
    try:
        client_data = base64url_to_bytes(credential["response"]["clientDataJSON"])
        return parse_client_data_json(client_data).challenge
    except (WebAuthnException, ValueError, KeyError, TypeError) as error:
        raise InvalidInputError(
            "The credential is malformed.", details={"credential": ["Malformed credential."]}
        ) from error


def _store_challenge(
    challenge: bytes, purpose: str, *, user_id: int | None, user_handle: bytes | None = None
) -> str:
    """Caller commits. The new challenge's id."""
    challenge_id = secrets.token_urlsafe(32)
    now = clock.utcnow()
    db.session.add(
        WebAuthnChallenge(
            id=challenge_id,
            challenge=bytes_to_base64url(challenge),
            purpose=purpose,
            user_id=user_id,
            user_handle=bytes_to_base64url(user_handle) if user_handle else None,
            created_at=now,
            expires_at=now + _challenge_lifetime(),
        )
    )
    return challenge_id


def _spend_challenge_of(challenge: bytes, purpose: str, *, user_id: int) -> bytes:
    """Spend the user's live challenge of this purpose with this value; its user handle."""
    handle = _spend_challenge(
        WebAuthnChallenge.user_handle,
        WebAuthnChallenge.challenge == bytes_to_base64url(challenge),
        WebAuthnChallenge.purpose == purpose,
        WebAuthnChallenge.user_id == user_id,
    )
    return base64url_to_bytes(handle) if handle else b""


def _spend_challenge_by_id(challenge_id: str) -> bytes:
    """Spend the live sign-in challenge with this id; the challenge."""
    if not (isinstance(challenge_id, str) and 0 < len(challenge_id) <= 64):
        raise PasskeyRefusedError(_UNKNOWN_CHALLENGE)
    challenge = _spend_challenge(
        WebAuthnChallenge.challenge,
        WebAuthnChallenge.id == challenge_id,
        WebAuthnChallenge.purpose == SIGN_IN,
    )
    return base64url_to_bytes(challenge)


def _spend_challenge(returned: Any, *conditions: Any) -> Any:
    """Mark the one live challenge that meets ``conditions`` used, in one conditional UPDATE
    (committed), so each works once; its ``returned`` column."""
    now = clock.utcnow()
    row = db.session.execute(
        update(WebAuthnChallenge)
        .where(*conditions, WebAuthnChallenge.used_at.is_(None), WebAuthnChallenge.expires_at > now)
        .values(used_at=now)
        .returning(returned)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    if row is None:
        raise PasskeyRefusedError(_UNKNOWN_CHALLENGE)
    return row[0]


def _user_handle(user_id: int) -> bytes:
    """The user's WebAuthn user handle: random, the same for all their passkeys."""
    existing = db.session.scalar(
        select(Passkey.user_handle).where(Passkey.user_id == user_id).limit(1)
    )
    return base64url_to_bytes(existing) if existing else secrets.token_bytes(_HANDLE_BYTES)


def _descriptors(
    passkeys: list[Passkey], *, with_transports: bool = True
) -> list[PublicKeyCredentialDescriptor]:
    return [
        PublicKeyCredentialDescriptor(
            id=base64url_to_bytes(passkey.credential_id),
            transports=[AuthenticatorTransport(t) for t in passkey.transports or []
                        if t in {member.value for member in AuthenticatorTransport}]
            if with_transports else None,
        )
        for passkey in passkeys
    ]  # fmt: skip


def _decoy(email: str) -> PublicKeyCredentialDescriptor:
    key = current_app.config["AUTH_MFA_ENCRYPTION_KEY"]
    digest = hmac.new(key.encode(), f"passkey-decoy:{email}".encode(), hashlib.sha256).digest()
    return PublicKeyCredentialDescriptor(id=digest)


def _transports(credential: dict[str, Any]) -> list[str] | None:
    transports = credential.get("response", {}).get("transports")
    if isinstance(transports, list) and all(isinstance(t, str) for t in transports):
        return transports[:8]
    return None


def _challenge_lifetime() -> timedelta:
    return timedelta(seconds=current_app.config["AUTH_WEBAUTHN_CHALLENGE_SECONDS"])


def _json(options: Any) -> dict[str, Any]:
    return dict(json.loads(webauthn.options_to_json(options)))
