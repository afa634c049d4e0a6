"""The lock on an account's second step: a cap on guessing its codes.

The rate limits slow a guesser down but never stop one: with the password, six digits fall to
about half of all guesses in a few months. So the TOTP and recovery codes that fail in a row
are counted on the account, and at AUTH_MFA_MAX_FAILURES its second step is locked (every
second-step method, passkeys included: someone else knows the password) until a password
reset or an admin clears the count; the owner is mailed when it locks.

Each guess is reserved before its code is checked, by one conditional UPDATE committed at once
(``reserve_guess``), so thirty parallel guesses on several hosts check no more codes than the
lock has left; a code that works clears the count.
"""

from dataclasses import dataclass

from flask import current_app
from sqlalchemy import select
from sqlalchemy import update

from app.core.audit import audit
from app.core.bounds import can_be_row_id
from app.core.errors import MfaLockedError
from app.core.errors import NotFoundError
from app.core.factors import step_up
from app.core.hooks import events
from app.core.mail import outbox
from app.core.models import User
from app.core.sessions.callers import Caller
from app.database import db

LOCKED_MAIL = "mfa_locked"


@dataclass(frozen=True)
class Guess:
    """One code check reserved against the account's lock."""

    user_id: int
    failures: int  # counted with this guess

    def failed(self) -> None:
        """The code was wrong: the reservation stands; at the limit, the lock is mailed."""
        if self.failures == max_failures():
            _report_lock(self.user_id, self.failures)

    def succeeded(self) -> None:
        """Caller commits. The code worked: the count starts again."""
        clear(user_id=self.user_id)


def reserve_guess(*, user_id: int) -> Guess:
    """Count a code check before it is made (committed, so a parallel request sees it), or
    MfaLockedError when the count is at the limit. Call it before the use case changes
    anything: it commits."""
    counted = db.session.execute(
        update(User)
        .where(User.id == user_id, User.mfa_failures < max_failures())
        .values(mfa_failures=User.mfa_failures + 1)
        .returning(User.mfa_failures)
        .execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    if counted is None:
        raise MfaLockedError()
    return Guess(user_id=user_id, failures=int(counted[0]))


def require_unlocked(*, user_id: int) -> None:
    """Refuse a second-step method that is not guessed (a passkey) while the lock holds."""
    failures = db.session.scalar(select(User.mfa_failures).where(User.id == user_id))
    if failures is not None and failures >= max_failures():
        raise MfaLockedError()


def clear(*, user_id: int) -> None:
    """Caller commits. Unlock the account's second step (a password reset, an admin)."""
    db.session.execute(
        update(User)
        .where(User.id == user_id, User.mfa_failures != 0)
        .values(mfa_failures=0)
        .execution_options(synchronize_session=False)
    )


def unlock(*, caller: Caller | None, user_id: int) -> None:
    """An admin's (or, with no caller, the CLI's) unlocking of a user's second step; the
    factors stay as they are."""
    step_up.require_admin(caller=caller)
    if not can_be_row_id(user_id) or db.session.get(User, user_id) is None:
        raise NotFoundError("User not found.")
    clear(user_id=user_id)
    db.session.commit()
    step_up.record_admin_change(caller=caller, event="mfa_unlocked", target_user_id=user_id)


def is_locked(user: User) -> bool:
    return user.mfa_failures >= max_failures()


def _report_lock(user_id: int, failures: int) -> None:
    audit.record(
        event="mfa_locked", outcome="locked", user_id=user_id, details={"failures": failures}
    )
    events.emit("user.locked", user=user_id, reason="second_factor_failures")
    found = db.session.execute(select(User.email, User.locale).where(User.id == user_id)).first()
    if found is not None and found.email is not None:
        context = {"count": failures, "email": found.email}
        outbox.write(
            outbox.Mail(template=LOCKED_MAIL, to=found.email, locale=found.locale, context=context)
        )
    db.session.commit()  # the failed guess changed nothing else: its caller rolled back


def max_failures() -> int:
    return int(current_app.config["AUTH_MFA_MAX_FAILURES"])
