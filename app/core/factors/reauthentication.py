"""Proving who one is again, for a session that is about to do something sensitive:
``POST /api/v1/auth/reauthenticate`` with the password, a TOTP code, a recovery code or a
passkey's assertion. It records a fresh proof on the session (app/core/factors/step_up.py)
and answers a new access token for it, whose ``auth_time`` says so.
"""

from typing import Any

from app.core import attempts
from app.core.audit import audit
from app.core.errors import InvalidMfaCodeError
from app.core.errors import ReauthenticationRequiredError
from app.core.factors import mfa_lock
from app.core.factors import passkeys
from app.core.factors import recovery_codes
from app.core.factors import step_up
from app.core.factors import totp
from app.core.sessions.callers import Caller
from app.core.tokens.tokens import AMR_OTP
from app.core.tokens.tokens import AMR_PWD
from app.core.tokens.tokens import TokenPolicy
from app.core.tokens.tokens import mint_access_token
from app.database import db

EVENT = "reauthenticated"


def reauthenticate(
    *,
    caller: Caller,
    policy: TokenPolicy,
    password: str | None = None,
    code: str | None = None,
    recovery_code: str | None = None,
    credential: dict[str, Any] | None = None,
) -> str:
    """A new access token for the caller's session, whose holder has just proved who they are
    with one of: the password, a TOTP code, a recovery code, a passkey's assertion. Every
    failure draws from the account's failure budgets."""
    user_id = caller.user.id
    if credential is not None:
        mfa_lock.require_unlocked(user_id=user_id)
        methods: tuple[str, ...] = passkeys.verify_reauthentication(
            user_id=user_id, credential=credential
        ).methods
    elif password is not None:
        step_up.check_password(caller=caller, password=password, event=EVENT)
        methods = (AMR_PWD,)
    else:
        methods = (_prove_code(user_id=user_id, code=code, recovery_code=recovery_code),)
    proof = step_up.record_proof(caller=caller, methods=methods)
    db.session.commit()
    audit.record(
        event=EVENT,
        outcome="success",
        user_id=user_id,
        session_id=caller.session_id,
        details={"methods": list(methods)},
    )
    return mint_access_token(
        user=caller.user,
        session_id=caller.session_id,
        ttl=policy.access_ttl,
        auth_time=proof.at,
        amr=proof.login_methods,
    )


def _prove_code(*, user_id: int, code: str | None, recovery_code: str | None) -> str:
    """The RFC 8176 method a TOTP code or recovery code proves (the caller commits); a wrong
    one counts toward the account's second-step lock and its failure budgets."""
    attempt = attempts.reserve_credential_check(account=f"user:{user_id}")
    guess = mfa_lock.reserve_guess(user_id=user_id)
    spent = (code is not None and totp.spend_code(user_id=user_id, code=code)) or (
        recovery_code is not None and recovery_codes.spend(user_id=user_id, code=recovery_code)
    )
    if not spent:
        db.session.rollback()
        audit.record(event=EVENT, outcome="failure", user_id=user_id)
        guess.failed()
        raise InvalidMfaCodeError()
    attempt.succeeded()
    guess.succeeded()
    return AMR_OTP


def passkey_options(*, caller: Caller) -> dict[str, Any]:
    """Request options for proving who one is with one of one's passkeys."""
    options = passkeys.reauthentication_options(user_id=caller.user.id)
    if options is None:
        raise ReauthenticationRequiredError(
            "The account has no passkey.",
            details={
                "methods": step_up.proof_methods(user_id=caller.user.id, second_factor_only=False)
            },
        )
    return options
