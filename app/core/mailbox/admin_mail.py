"""The mails an admin sends a user from the console (or the operator from the CLI): a new
verification link, a password reset link. They go out as the user's own requests would, by
the same jobs, so the interval between two mails of a kind holds here too."""

from typing import Literal

from app.core.audit import audit
from app.core.bounds import can_be_row_id
from app.core.errors import ConflictError
from app.core.errors import InvalidInputError
from app.core.errors import NotFoundError
from app.core.factors import step_up
from app.core.mail import outbox
from app.core.mailbox.mailed_tokens import RESET_JOB
from app.core.mailbox.mailed_tokens import VERIFY_AGAIN_JOB
from app.core.models import User
from app.core.sessions.callers import Caller
from app.database import db

MailKind = Literal["verification", "password_reset"]


def send_user_mail(*, caller: Caller | None, user_id: int, kind: MailKind) -> None:
    """Queue the mail of ``kind`` to the user's address (written with its audit reason, sent
    by the courier); none when one of its kind went out within AUTH_MAIL_INTERVAL_SECONDS."""
    step_up.require_admin(caller=caller)
    user = db.session.get(User, user_id) if can_be_row_id(user_id) else None
    if user is None:
        raise NotFoundError("User not found.")
    if user.email is None:
        raise InvalidInputError("The account has no email address.")
    if not user.is_active:
        raise ConflictError("The account is deactivated.")
    if kind == "verification" and user.email_verified_at is not None:
        raise ConflictError("The address is already verified.")
    job = VERIFY_AGAIN_JOB if kind == "verification" else RESET_JOB
    extra = {} if kind == "verification" else {"origin": audit.request_origin()}
    outbox.write_job(job, email=user.email, **extra)
    db.session.commit()
    step_up.record_admin_change(
        caller=caller,
        event="user_mailed",
        outcome="requested",
        target_user_id=user.id,
        details={"mail": kind},
    )
