"""Single-use tokens mailed to a user: 32 random bytes, of which only the SHA-256 is kept.
An email change's token also carries the new address it proves.

A token is spent by one conditional UPDATE, so of two uses at once exactly one succeeds.
Issuing a token of a purpose retires the user's earlier unspent ones of that purpose: only
the newest mail works.
"""

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from app.core import clock
from app.core.models import AccountToken
from app.database import db
from app.database import rows_changed

PASSWORD_RESET = "password_reset"  # noqa: S105 (a purpose name)
EMAIL_VERIFICATION = "email_verification"
EMAIL_CHANGE = "email_change"
TOKEN_BYTES = 32
MAX_TOKEN_CHARS = 128


@dataclass(frozen=True)
class SpentToken:
    user_id: int
    email: str | None  # an email change's new address


def issue(*, user_id: int, purpose: str, lifetime: timedelta, email: str | None = None) -> str:
    """A new token for the user (the caller commits); earlier unspent ones stop working."""
    retire(user_id=user_id, purposes=[purpose])
    now = clock.utcnow()
    raw = secrets.token_urlsafe(TOKEN_BYTES)
    db.session.add(
        AccountToken(
            user_id=user_id,
            purpose=purpose,
            token_hash=_digest(raw),
            created_at=now,
            expires_at=now + lifetime,
            email=email,
        )
    )
    return raw


def retire(*, user_id: int, purposes: Sequence[str]) -> None:
    """Caller commits. The user's unspent tokens of these purposes stop working."""
    db.session.execute(
        update(AccountToken)
        .where(
            AccountToken.user_id == user_id,
            AccountToken.purpose.in_(purposes),
            AccountToken.used_at.is_(None),
        )
        .values(used_at=clock.utcnow())
        .execution_options(synchronize_session=False)
    )


def spend(*, raw: str, purpose: str) -> int | None:
    """The user id of a live token of this purpose, now spent (the caller commits); None for
    an unknown, spent or expired one."""
    spent = spend_token(raw=raw, purpose=purpose)
    return None if spent is None else spent.user_id


def spend_token(*, raw: str, purpose: str) -> SpentToken | None:
    """A live token of this purpose, now spent (the caller commits); None for an unknown,
    spent or expired one."""
    if not raw or len(raw) > MAX_TOKEN_CHARS or not raw.isascii():
        return None
    digest = _digest(raw)
    now = clock.utcnow()
    spent = rows_changed(
        update(AccountToken)
        .where(
            AccountToken.token_hash == digest,
            AccountToken.purpose == purpose,
            AccountToken.used_at.is_(None),
            AccountToken.expires_at > now,
        )
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    if spent != 1:
        return None
    row = db.session.execute(
        select(AccountToken.user_id, AccountToken.email).where(AccountToken.token_hash == digest)
    ).one()
    return SpentToken(user_id=row.user_id, email=row.email)


def issued_since(*, user_id: int, purpose: str, seconds: int) -> bool:
    """Whether a token of this purpose went to the user within the last ``seconds``."""
    since = clock.utcnow() - timedelta(seconds=seconds)
    return bool(
        db.session.scalar(
            select(
                exists().where(
                    AccountToken.user_id == user_id,
                    AccountToken.purpose == purpose,
                    AccountToken.created_at > since,
                )
            )
        )
    )


def purge() -> int:
    """Delete spent and expired tokens; how many."""
    now = clock.utcnow()
    deleted = rows_changed(
        delete(AccountToken).where(
            or_(AccountToken.expires_at <= now, AccountToken.used_at.is_not(None))
        )
    )
    db.session.commit()
    return deleted


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()
