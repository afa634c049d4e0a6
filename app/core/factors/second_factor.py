"""An account's second factor: turning TOTP on and off, its recovery codes, the second step of
a login, and an admin's reset.

A login whose password is right, for an account with a second factor, gets no token: it gets
an mfaToken (32 random bytes, of which only the SHA-256 is stored) that lives
AUTH_MFA_TOKEN_SECONDS and is good for AUTH_MFA_TOKEN_TRIES tries. Each try is taken by one
conditional UPDATE, so parallel tries cannot outrun the count; a code that works spends the
token in the same way, so one token opens at most one session. Every code checked also draws
from the account's failure budgets (app/core/attempts.py).

Turning a factor on or off and replacing the recovery codes end every other session of the
account, are audited, and are mailed to the account's owner.
"""

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import select
from sqlalchemy import union
from sqlalchemy import update

from app.core import attempts
from app.core import clock
from app.core.audit import audit
from app.core.audit.origin import ClientInfo
from app.core.bounds import can_be_row_id
from app.core.errors import InvalidMfaCodeError
from app.core.errors import MfaRequiredError
from app.core.errors import MfaStateError
from app.core.errors import MfaTokenInvalidError
from app.core.errors import NotFoundError
from app.core.errors import SecondFactorElsewhereError
from app.core.factors import mfa_lock
from app.core.factors import passkeys
from app.core.factors import recovery_codes
from app.core.factors import step_up
from app.core.factors import totp
from app.core.factors.step_up import PASSKEY
from app.core.factors.step_up import RECOVERY_CODE
from app.core.factors.step_up import TOTP
from app.core.factors.totp import Enrolment
from app.core.hooks import events
from app.core.mail import outbox
from app.core.models import MfaChallenge
from app.core.models import Passkey
from app.core.models import TotpFactor
from app.core.models import User
from app.core.sessions import sessions
from app.core.sessions.callers import Caller
from app.core.sessions.sessions import SignedIn
from app.core.tokens.tokens import AMR_MFA
from app.core.tokens.tokens import AMR_OTP
from app.core.tokens.tokens import AMR_PWD
from app.core.tokens.tokens import TokenPolicy
from app.database import db
from app.database import rows_changed

MAX_MFA_TOKEN_CHARS = 128

# Each a mail template of its own (app/core/mail/templates/).
NOTICES = frozenset({
    "mfa_enabled",
    "mfa_disabled",
    "recovery_codes_regenerated",
    "passkey_added",
    "passkey_removed",
    "password_changed",
})  # fmt: skip


# The webhook event of a notice (app/core/hooks/events.py).
EVENT_TYPES_OF_NOTICES = {
    "mfa_enabled": "mfa.enabled",
    "mfa_disabled": "mfa.disabled",
    "passkey_added": "passkey.added",
    "passkey_removed": "passkey.removed",
    "password_changed": "password.changed",
}


@dataclass(frozen=True)
class AddedPasskey:
    passkey: Passkey
    # The account's recovery codes, when this passkey is its first second factor.
    recovery_codes: list[str] | None


def second_step_methods(*, user_id: int) -> list[str]:
    """The second factors the account can finish a login with; empty when it has none. One
    statement: every password login asks."""
    has_totp, has_passkeys = db.session.execute(
        select(
            totp.factor_exists(user_id=user_id, confirmed=True),
            exists().where(Passkey.user_id == user_id),
        )
    ).one()
    if not (has_totp or has_passkeys):
        return []
    return [TOTP] * has_totp + [RECOVERY_CODE] + [PASSKEY] * has_passkeys


def users_with_second_factor(user_ids: Sequence[int]) -> set[int]:
    """Which of these accounts have a second factor (TOTP on, or a passkey): one statement."""
    if not user_ids:
        return set()
    with_totp = select(TotpFactor.user_id).where(
        TotpFactor.user_id.in_(user_ids), TotpFactor.confirmed_at.is_not(None)
    )
    with_passkey = select(Passkey.user_id).where(Passkey.user_id.in_(user_ids))
    return set(db.session.scalars(union(with_totp, with_passkey)))


def require_no_second_factor(
    *,
    user: User,
    dialect: str,
    second_step: bool,
    first_factor: str = AMR_PWD,
    device_name: str | None = None,
) -> None:
    """Let a login with a password alone through, or refuse it: with an mfaToken on a face
    that has a ``second_step``, and as bad credentials on the others, which have none."""
    methods = second_step_methods(user_id=user.id)
    if not methods:
        return
    if not second_step:
        audit.record(
            event="login",
            outcome="failure",
            user_id=user.id,
            details={"reason": "second_factor_required"},
        )
        raise SecondFactorElsewhereError(user_id=user.id)
    details: dict[str, object] = {
        "mfaToken": _open_challenge(
            user_id=user.id, dialect=dialect, first_factor=first_factor, device_name=device_name
        ),
        "methods": methods,
    }
    if PASSKEY in methods:
        details["passkeyOptions"] = passkeys.second_step_options(user_id=user.id)
    audit.record(event="login", outcome="mfa_required", user_id=user.id)
    raise MfaRequiredError(details=details)


def finish_login(
    *,
    mfa_token: str,
    code: str | None,
    recovery_code: str | None,
    policy: TokenPolicy,
    client: ClientInfo,
    credential: dict[str, Any] | None = None,
) -> SignedIn:
    """The session a login's second step opens: one try of the mfaToken, one code (or one
    passkey assertion) checked."""
    login = _take_a_try(mfa_token)
    user_id, dialect, first_factor = login.user_id, login.dialect, login.first_factor
    if client.device_name is None:
        client = replace(client, device_name=login.device_name)
    if credential is not None:
        mfa_lock.require_unlocked(user_id=user_id)
        assertion = passkeys.verify_second_step(user_id=user_id, credential=credential)
        if not _spend_challenge(mfa_token):
            db.session.rollback()
            raise MfaTokenInvalidError()
        db.session.commit()
        return _open_second_step_session(
            user_id, dialect, policy, client, (first_factor, assertion.methods[0], AMR_MFA), PASSKEY
        )
    attempt = attempts.reserve_credential_check(account=f"user:{user_id}")
    guess = mfa_lock.reserve_guess(user_id=user_id)
    method = _check_code(user_id=user_id, code=code, recovery_code=recovery_code)
    if method is None or not _spend_challenge(mfa_token):
        db.session.rollback()  # the try taken stays taken: it was committed on its own
        audit.record(event="mfa_failed", outcome="failure", user_id=user_id)
        if method is None:
            guess.failed()
        raise InvalidMfaCodeError()
    attempt.succeeded()
    guess.succeeded()
    db.session.commit()
    if method == RECOVERY_CODE:
        audit.record(event="recovery_code_used", outcome="success", user_id=user_id)
    return _open_second_step_session(
        user_id, dialect, policy, client, (first_factor, AMR_OTP, AMR_MFA), method
    )


def sign_in_with_passkey(
    *,
    challenge_id: str,
    credential: dict[str, Any],
    dialect: str,
    policy: TokenPolicy,
    client: ClientInfo,
) -> SignedIn:
    """A passwordless sign-in: the session a passkey's assertion opens."""
    assertion = passkeys.verify_sign_in(challenge_id=challenge_id, credential=credential)
    return _open_second_step_session(
        assertion.user_id, dialect, policy, client, assertion.methods, PASSKEY
    )


def passkey_registration_options(*, caller: Caller) -> dict[str, Any]:
    """Creation options for a new passkey of the caller, after a recent proof (a second
    factor when the account has one)."""
    step_up.require_recent_authentication(caller=caller, factor_change=True)
    return passkeys.registration_options(user_id=caller.user.id)


def add_passkey(
    *, caller: Caller, credential: dict[str, Any], name: str | None = None
) -> AddedPasskey:
    """Keep a new passkey; the first second factor of an account also brings its recovery
    codes."""
    step_up.require_recent_authentication(caller=caller, factor_change=True)
    user_id = caller.user.id
    first_factor = not second_step_methods(user_id=user_id)
    passkey = passkeys.verify_registration(user_id=user_id, credential=credential, name=name)
    codes = None
    if first_factor:
        codes = recovery_codes.replace_codes(user_id=user_id)
    _changed(caller, "passkey_added", {"passkey_id": str(passkey.id)})
    return AddedPasskey(passkey=passkey, recovery_codes=codes)


def remove_passkey(*, caller: Caller, passkey_id: int) -> None:
    step_up.require_recent_authentication(caller=caller, factor_change=True)
    user_id = caller.user.id
    passkeys.delete_passkey(user_id=user_id, passkey_id=passkey_id)
    if not second_step_methods(user_id=user_id):
        recovery_codes.remove_codes(user_id=user_id)
    _changed(caller, "passkey_removed", {"passkey_id": str(passkey_id)})


def _open_second_step_session(
    user_id: int,
    dialect: str,
    policy: TokenPolicy,
    client: ClientInfo,
    amr: tuple[str, ...],
    method: str,
) -> SignedIn:
    user = db.session.get(User, user_id)
    if user is None or not user.is_active:
        raise MfaTokenInvalidError()
    return sessions.complete_sign_in(
        user=user,
        dialect=dialect,
        policy=policy,
        client=client,
        amr=amr,
        details={"second_factor": method},
    )


def begin_totp(*, caller: Caller, password: str | None = None) -> Enrolment:
    """Start a TOTP enrolment (not on until confirmed), after a recent proof: the password
    given here, or an earlier one (a second factor when the account already has one)."""
    if password is not None:
        step_up.prove_password(caller=caller, password=password, event="mfa_enabled")
    step_up.require_recent_authentication(caller=caller, factor_change=True)
    if totp.is_on(user_id=caller.user.id):
        raise MfaStateError("TOTP is already on; turn it off before enrolling again.")
    account_name = caller.user.email or caller.user.username
    enrolment = totp.start_enrolment(user_id=caller.user.id, account_name=account_name)
    db.session.commit()
    return enrolment


def confirm_totp(*, caller: Caller, code: str) -> list[str]:
    """Turn TOTP on with a first code; the account's new recovery codes."""
    user_id = caller.user.id
    step_up.require_recent_authentication(caller=caller, factor_change=True)
    if not totp.has_pending_enrolment(user_id=user_id):
        raise MfaStateError("There is no TOTP enrolment to confirm; start one first.")
    attempt = attempts.reserve_credential_check(account=f"user:{user_id}")
    if not totp.confirm(user_id=user_id, code=code):
        db.session.rollback()
        audit.record(event="mfa_failed", outcome="failure", user_id=user_id)
        raise InvalidMfaCodeError()
    attempt.succeeded()
    codes = recovery_codes.replace_codes(user_id=user_id)
    _changed(caller, "mfa_enabled", {"method": TOTP})
    return codes


def turn_off_totp(*, caller: Caller, code: str, password: str | None = None) -> None:
    """Turn TOTP off with a current code (or a recovery code): the second factor that the
    removal of a factor needs. The password, when given, is checked too."""
    user_id = caller.user.id
    if not totp.is_on(user_id=user_id):
        raise MfaStateError("TOTP is not on.")
    if password is not None:
        step_up.prove_password(caller=caller, password=password, event="mfa_disabled")
    attempt = attempts.reserve_credential_check(account=f"user:{user_id}")
    guess = mfa_lock.reserve_guess(user_id=user_id)
    if _check_code(user_id=user_id, code=code, recovery_code=code) is None:
        db.session.rollback()
        audit.record(event="mfa_failed", outcome="failure", user_id=user_id)
        guess.failed()
        raise InvalidMfaCodeError()
    attempt.succeeded()
    guess.succeeded()
    step_up.record_proof(caller=caller, methods=(AMR_OTP,))
    step_up.require_recent_authentication(caller=caller, factor_change=True)
    totp.remove(user_id=user_id)
    if not passkeys.has_passkeys(user_id=user_id):
        recovery_codes.remove_codes(user_id=user_id)
    _changed(caller, "mfa_disabled", {"method": TOTP})


def regenerate_recovery_codes(*, caller: Caller, password: str | None = None) -> list[str]:
    """A new set of recovery codes, the old set void: after a recent second factor (the
    password, when given, is checked and counts as a proof, but never alone)."""
    if password is not None:
        step_up.prove_password(caller=caller, password=password, event="recovery_codes_regenerated")
    if not second_step_methods(user_id=caller.user.id):
        raise MfaStateError("The account has no second factor to recover.")
    step_up.require_recent_authentication(caller=caller, factor_change=True)
    codes = recovery_codes.replace_codes(user_id=caller.user.id)
    _changed(caller, "recovery_codes_regenerated", None)
    return codes


def reset_factors(*, caller: Caller | None, user_id: int) -> None:
    """An admin's (or the CLI's, with no caller) removal of every second factor of a user,
    who then signs in with the password alone; the lock on their second step goes too."""
    step_up.require_admin(caller=caller)
    if not can_be_row_id(user_id) or db.session.get(User, user_id) is None:
        raise NotFoundError("User not found.")
    remove_factors(user_id=user_id)
    mfa_lock.clear(user_id=user_id)
    sessions.end_user_sessions(user_id=user_id)
    _notify(user_id, "mfa_disabled")
    db.session.commit()
    step_up.record_admin_change(
        caller=caller, event="mfa_disabled", target_user_id=user_id, details={"method": "all"}
    )


def void_pending_logins(*, user_id: int) -> None:
    """Caller commits. Every mfaToken of the user stops working: the first steps they stand
    for were taken with a password that is no longer the account's."""
    db.session.execute(delete(MfaChallenge).where(MfaChallenge.user_id == user_id))


def purge_expired_challenges() -> int:
    """Delete expired mfaTokens and WebAuthn challenges; how many."""
    deleted = rows_changed(delete(MfaChallenge).where(MfaChallenge.expires_at <= clock.utcnow()))
    db.session.commit()
    return deleted + passkeys.purge_expired_challenges()


def _open_challenge(
    *, user_id: int, dialect: str, first_factor: str, device_name: str | None
) -> str:
    now = clock.utcnow()
    raw = secrets.token_urlsafe(32)
    db.session.add(
        MfaChallenge(
            token_hash=_digest(raw),
            user_id=user_id,
            dialect=dialect,
            first_factor=first_factor,
            device_name=device_name,
            tries_left=current_app.config["AUTH_MFA_TOKEN_TRIES"],
            created_at=now,
            expires_at=now + timedelta(seconds=current_app.config["AUTH_MFA_TOKEN_SECONDS"]),
        )
    )
    db.session.commit()
    return raw


def passkey_options_for(*, mfa_token: str) -> dict[str, Any]:
    """Passkey request options for a live mfaToken, when the login arrived without them (an
    OpenID sign-in's redirect carries only the token). No try is taken: the options prove
    nothing, and the token is 32 random bytes."""
    user_id = _live_challenge_user(mfa_token)
    options = passkeys.second_step_options(user_id=user_id)
    if options is None:
        raise MfaStateError("The account has no passkey.")
    return options


def _live_challenge_user(raw: str) -> int:
    if not (isinstance(raw, str) and 0 < len(raw) <= MAX_MFA_TOKEN_CHARS and raw.isascii()):
        raise MfaTokenInvalidError()
    user_id = db.session.scalar(
        select(MfaChallenge.user_id).where(
            MfaChallenge.token_hash == _digest(raw),
            MfaChallenge.tries_left > 0,
            MfaChallenge.used_at.is_(None),
            MfaChallenge.expires_at > clock.utcnow(),
        )
    )
    if user_id is None:
        raise MfaTokenInvalidError()
    return int(user_id)


@dataclass(frozen=True)
class _Try:
    """A live mfaToken's login: whose, on which face, after which first factor, and the
    device name the login gave."""

    user_id: int
    dialect: str
    first_factor: str
    device_name: str | None


def _take_a_try(raw: str) -> _Try:
    """The login of a live mfaToken, one of its tries now taken (committed)."""
    if not (isinstance(raw, str) and 0 < len(raw) <= MAX_MFA_TOKEN_CHARS and raw.isascii()):
        raise MfaTokenInvalidError()
    taken = db.session.execute(
        update(MfaChallenge)
        .where(
            MfaChallenge.token_hash == _digest(raw),
            MfaChallenge.tries_left > 0,
            MfaChallenge.used_at.is_(None),
            MfaChallenge.expires_at > clock.utcnow(),
        )
        .values(tries_left=MfaChallenge.tries_left - 1)
        .returning(
            MfaChallenge.user_id,
            MfaChallenge.dialect,
            MfaChallenge.first_factor,
            MfaChallenge.device_name,
        )
        .execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    if taken is None:
        raise MfaTokenInvalidError()
    return _Try(int(taken[0]), str(taken[1]), str(taken[2]), taken[3])


def _spend_challenge(raw: str) -> bool:
    """Whether this request is the one that uses the token (the caller commits)."""
    spent = db.session.execute(
        update(MfaChallenge)
        .where(MfaChallenge.token_hash == _digest(raw), MfaChallenge.used_at.is_(None))
        .values(used_at=clock.utcnow())
        .returning(MfaChallenge.user_id)
        .execution_options(synchronize_session=False)
    ).first()
    return spent is not None


def _check_code(*, user_id: int, code: str | None, recovery_code: str | None) -> str | None:
    """Which method the code passed with (the caller commits), or None."""
    if code is not None and totp.spend_code(user_id=user_id, code=code):
        return TOTP
    if recovery_code is not None and recovery_codes.spend(user_id=user_id, code=recovery_code):
        return RECOVERY_CODE
    return None


def remove_factors(*, user_id: int) -> None:
    """Caller commits. Every second factor of the user: TOTP, passkeys, recovery codes."""
    totp.remove(user_id=user_id)
    passkeys.remove_all(user_id=user_id)
    recovery_codes.remove_codes(user_id=user_id)


def _changed(caller: Caller, event: str, details: dict[str, str] | None) -> None:
    """Commit a change to the account's factors with the end of every other session and the
    owner's notice (one transaction), then record it."""
    sessions.end_user_sessions(user_id=caller.user.id, keep_session_id=caller.session_id)
    _notify(caller.user.id, event)
    db.session.commit()
    audit.record(
        event=event,
        outcome="success",
        user_id=caller.user.id,
        session_id=caller.session_id,
        details=details,
    )


def notify_owner(*, user_id: int, event: str) -> None:
    """Caller commits. Mail the account's owner that a way into it changed (``event``: a
    second factor, or its password), if it has an address."""
    _notify(user_id, event)


def _notify(user_id: int, event: str) -> None:
    if event not in NOTICES:
        raise KeyError(f"no notice for {event!r}")
    if event in EVENT_TYPES_OF_NOTICES:
        events.emit(EVENT_TYPES_OF_NOTICES[event], user=user_id)
    found = db.session.execute(select(User.email, User.locale).where(User.id == user_id)).first()
    if found is None or found.email is None:
        return
    context = {"email": found.email}
    outbox.write(outbox.Mail(template=event, to=found.email, locale=found.locale, context=context))


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()
