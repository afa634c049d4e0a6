"""Step-up: a recent proof of who is calling, before a sensitive action.

A stolen access token must not be enough to take an account over. So a session records when
its holder last proved who they are (``auth_time``), how (``auth_methods``, RFC 8176 values),
and when they last did so with a second factor (``second_factor_at``). Its login is the first
proof; ``POST /api/v1/auth/reauthenticate`` (app/core/factors/reauthentication.py) and a
password or code that a request brings along (``record_proof``) are later ones.

A sensitive action passes ``require_recent_authentication`` first: it needs a proof younger
than AUTH_REAUTH_MAX_AGE_SECONDS, and one that changes the second factors of an account that
has one (adding or removing a factor, new recovery codes, linking a provider) needs that
proof to be a second factor: a password alone never adds or removes a factor. The database
decides, from the acting session's row read in the action's own transaction; the access
token's ``auth_time`` and ``fresh`` claims only inform.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import current_app
from sqlalchemy import exists
from sqlalchemy import select
from sqlalchemy import update

from app.core import attempts
from app.core import clock
from app.core import roles
from app.core.audit import audit
from app.core.errors import ReauthenticationRequiredError
from app.core.errors import TokenRevokedError
from app.core.errors import WrongCurrentPasswordError
from app.core.factors import recovery_codes
from app.core.factors import totp
from app.core.models import Passkey
from app.core.models import SignInSession
from app.core.models import User
from app.core.passwords.security import has_usable_password
from app.core.passwords.security import verify_password
from app.core.sessions.callers import Caller
from app.core.tokens.tokens import AMR_PWD
from app.core.tokens.tokens import proves_second_factor
from app.database import db

# What an account can prove itself with, as ``details.methods`` names them.
PASSWORD = "password"  # noqa: S105 (a method name)
TOTP = "totp"
RECOVERY_CODE = "recoveryCode"
PASSKEY = "passkey"


def require_recent_authentication(*, caller: Caller, factor_change: bool = False) -> None:
    """Pass when the caller's session proved who holds it within AUTH_REAUTH_MAX_AGE_SECONDS
    (with a second factor, for a ``factor_change`` to an account that has one); else
    ReauthenticationRequiredError, naming what the account can prove itself with."""
    proved = db.session.execute(
        select(SignInSession.auth_time, SignInSession.second_factor_at).where(
            SignInSession.id == caller.session_id, SignInSession.user_id == caller.user.id
        )
    ).first()
    second_factor = factor_change and has_second_factor(user_id=caller.user.id)
    moment = None
    if proved is not None:
        moment = proved.second_factor_at if second_factor else proved.auth_time
    if moment is None or clock.utcnow() - moment > _max_age():
        methods = proof_methods(user_id=caller.user.id, second_factor_only=second_factor)
        raise ReauthenticationRequiredError(details={"methods": methods})


@dataclass(frozen=True)
class RecordedProof:
    at: datetime
    # The methods of the session's login (its tokens' "amr"), which a proof leaves as they are.
    login_methods: list[str]


def require_admin(*, caller: Caller | None) -> None:
    """An admin's change to another account: the admin role, then a recent proof of who the
    admin is. No caller is the CLI: the operator of the host."""
    if caller is not None:
        roles.require_role(caller.user, roles.ADMIN)
        require_recent_authentication(caller=caller)


def record_admin_change(
    *,
    caller: Caller | None,
    event: str,
    outcome: str = "success",
    target_user_id: int | None = None,
    client_id: str | None = None,
    details: dict[str, Any] | None = None,
) -> None:
    """Audit a change that passed ``require_admin``: the admin as the acting user and
    ``details.by`` "admin", or no acting user and "cli" for the operator at the CLI."""
    audit.record(
        event=event,
        outcome=outcome,
        user_id=None if caller is None else caller.user.id,
        target_user_id=target_user_id,
        client_id=client_id,
        details=(details or {}) | {"by": "cli" if caller is None else "admin"},
    )


def record_proof(*, caller: Caller, methods: Sequence[str]) -> RecordedProof:
    """Caller commits. Record on the caller's session that its holder proved who they are
    just now, with ``methods``."""
    now = clock.utcnow()
    values: dict[str, Any] = {"auth_time": now, "auth_methods": " ".join(methods)}
    if proves_second_factor(methods):
        values["second_factor_at"] = now
    amr = db.session.execute(
        update(SignInSession)
        .where(
            SignInSession.id == caller.session_id,
            SignInSession.user_id == caller.user.id,
            SignInSession.revoked_at.is_(None),
        )
        .values(**values)
        .returning(SignInSession.amr)
        .execution_options(synchronize_session=False)
    ).first()
    if amr is None:
        raise TokenRevokedError()
    return RecordedProof(at=now, login_methods=(amr[0] or AMR_PWD).split())


def prove_password(*, caller: Caller, password: str, event: str) -> None:
    """Caller commits. The password a request brought along with a sensitive action, checked
    and recorded as the session's latest proof."""
    check_password(caller=caller, password=password, event=event)
    record_proof(caller=caller, methods=(AMR_PWD,))


def check_password(*, caller: Caller, password: str, event: str) -> None:
    """The caller's password, or WrongCurrentPasswordError: a failure on the account's
    budgets, audited as ``event``."""
    stored = db.session.scalar(select(User.password_hash).where(User.id == caller.user.id))
    attempt = attempts.reserve_credential_check(account=f"user:{caller.user.id}")
    if stored is None or not verify_password(stored, password):
        db.session.rollback()
        audit.record(event=event, outcome="failure", user_id=caller.user.id)
        raise WrongCurrentPasswordError()
    attempt.succeeded()


def has_second_factor(*, user_id: int) -> bool:
    has_totp, has_passkeys = _factors(user_id)
    return has_totp or has_passkeys


def proof_methods(*, user_id: int, second_factor_only: bool) -> list[str]:
    """What the account can prove itself with at POST /auth/reauthenticate."""
    has_totp, has_passkeys = _factors(user_id)
    methods = []
    if not second_factor_only:
        stored = db.session.scalar(select(User.password_hash).where(User.id == user_id))
        if stored is not None and has_usable_password(stored):
            methods.append(PASSWORD)
    if has_totp:
        methods.append(TOTP)
    if (has_totp or has_passkeys) and recovery_codes.codes_left(user_id=user_id):
        methods.append(RECOVERY_CODE)
    if has_passkeys:
        methods.append(PASSKEY)
    return methods


def _factors(user_id: int) -> tuple[bool, bool]:
    """Whether the account has TOTP on, and passkeys: one statement."""
    row = db.session.execute(
        select(
            totp.factor_exists(user_id=user_id, confirmed=True),
            exists().where(Passkey.user_id == user_id),
        )
    ).one()
    return bool(row[0]), bool(row[1])


def _max_age() -> timedelta:
    return timedelta(seconds=current_app.config["AUTH_REAUTH_MAX_AGE_SECONDS"])
