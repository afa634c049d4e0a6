"""Recovery codes: ten single-use codes that stand in for the second factor when the
authenticator is lost. Shown once; only the SHA-256 of each is kept (50 random bits a code,
so a fast hash suffices, as for the mailed tokens). A code is spent by one conditional
UPDATE, so of two uses at once exactly one succeeds.
"""

import hashlib
import secrets

from sqlalchemy import delete
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from app.core import clock
from app.core.models import RecoveryCode
from app.database import db
from app.database import rows_changed

CODES_PER_SET = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper and typed back
_HALF = 5
MAX_CODE_CHARS = 32


def replace_codes(*, user_id: int) -> list[str]:
    """A new set for the user (the caller commits); every earlier code stops working."""
    remove_codes(user_id=user_id)
    codes = [_new_code() for _ in range(CODES_PER_SET)]
    now = clock.utcnow()
    db.session.add_all(
        RecoveryCode(user_id=user_id, code_hash=_digest(code), created_at=now) for code in codes
    )
    return codes


def spend(*, user_id: int, code: str) -> bool:
    """Whether ``code`` is one of the user's unused codes, now used (the caller commits)."""
    normalized = _normalized(code)
    if normalized is None:
        return False
    spent = rows_changed(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user_id,
            RecoveryCode.code_hash == _digest(normalized),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=clock.utcnow())
        .execution_options(synchronize_session=False)
    )
    return spent == 1


def codes_left(*, user_id: int) -> int:
    return (
        db.session.scalar(
            select(func.count(RecoveryCode.id)).where(
                RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None)
            )
        )
        or 0
    )


def remove_codes(*, user_id: int) -> None:
    """The caller commits."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user_id))


def _new_code() -> str:
    letters = "".join(secrets.choice(_ALPHABET) for _ in range(2 * _HALF))
    return f"{letters[:_HALF]}-{letters[_HALF:]}"


def _normalized(code: str) -> str | None:
    """The code as issued, whatever the case, spaces and dashes it was typed with."""
    if not isinstance(code, str) or len(code) > MAX_CODE_CHARS:
        return None
    letters = "".join(code.split()).replace("-", "").lower()
    if len(letters) != 2 * _HALF or any(letter not in _ALPHABET for letter in letters):
        return None
    return f"{letters[:_HALF]}-{letters[_HALF:]}"


def _digest(code: str) -> str:
    return hashlib.sha256(code.encode("ascii")).hexdigest()
