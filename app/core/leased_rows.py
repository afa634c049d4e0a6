"""Tables of work to do (the mail outbox, webhook deliveries): rows that the running service
claims, tries, and finishes or tries again later.

A row is claimed by moving its ``next_attempt_at`` past the time an attempt may take (the
lease), in a conditional UPDATE: of two workers, one claims it. A worker that dies leaves the
row due again once its lease has passed, so every row is tried at least once.
"""

from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from app.core import clock
from app.database import db
from app.database import rows_changed

PENDING = "pending"


@dataclass(frozen=True)
class Claim:
    row_id: int
    attempts: int  # with this one


def claim_due(model: Any, *, lease: timedelta, limit: int) -> list[Claim]:
    """The due rows of ``model`` this worker now holds; each claimed in a transaction of its
    own."""
    due = db.session.execute(
        select(model.id, model.attempts)
        .where(model.state == PENDING, model.next_attempt_at <= clock.utcnow())
        .order_by(model.next_attempt_at)
        .limit(limit)
    ).all()
    db.session.commit()
    return [Claim(row_id, attempts + 1) for row_id, attempts in due if _claim(model, row_id, lease)]


def _claim(model: Any, row_id: int, lease: timedelta) -> bool:
    now = clock.utcnow()
    claimed = rows_changed(
        update(model)
        .where(model.id == row_id, model.state == PENDING, model.next_attempt_at <= now)
        .values(next_attempt_at=now + lease, attempts=model.attempts + 1)
    )
    db.session.commit()
    return claimed == 1


def finish(model: Any, row_id: int, **values: Any) -> None:
    """Record the outcome of a claimed row (``state`` and what goes with it) and commit."""
    db.session.execute(update(model).where(model.id == row_id).values(**values))
    db.session.commit()


def try_later(model: Any, claim: Claim, *, wait: timedelta, **values: Any) -> None:
    """Release a claimed row to be tried again after ``wait``, and commit."""
    db.session.execute(
        update(model)
        .where(model.id == claim.row_id, model.state == PENDING)
        .values(next_attempt_at=clock.utcnow() + wait, **values)
    )
    db.session.commit()


def give_up_older_than(model: Any, cutoff: datetime, **values: Any) -> int:
    """Finish every pending row written before ``cutoff`` with ``values``; how many."""
    gave_up = rows_changed(
        update(model).where(model.state == PENDING, model.created_at < cutoff).values(**values)
    )
    db.session.commit()
    return gave_up


def pending_and_earliest(model: Any) -> tuple[int, datetime | None]:
    """How many rows wait, and when the first of them falls due."""
    pending, earliest = db.session.execute(
        select(func.count(), func.min(model.next_attempt_at)).where(model.state == PENDING)
    ).one()
    db.session.commit()
    return pending, earliest


def seconds_until(earliest: datetime | None, longest: float) -> float:
    if earliest is None:
        return longest
    return max(0.0, min(longest, (earliest - clock.utcnow()).total_seconds()))
