"""Tables of work to do (the mail outbox, webhook deliveries): rows that the running service
claims, tries, and finishes or tries again later.

A row is claimed by moving its ``next_attempt_at`` past the time an attempt may take (the
lease), in one conditional UPDATE for a batch: of two workers, one claims each row. A worker
that dies leaves the row due again once its lease has passed, so every row is tried at least
once.
"""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from functools import cache
from typing import Any

from sqlalchemy import Integer
from sqlalchemy import bindparam
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import update

from app.core import clock
from app.database import db
from app.database import rows_changed

PENDING = "pending"


@dataclass(frozen=True, order=True)
class Claim:
    row_id: int
    attempts: int  # with this one


def claim_due(model: Any, *, lease: timedelta, limit: int) -> list[Claim]:
    """The due rows of ``model`` this worker now holds, oldest first: at most ``limit``,
    claimed in one statement and committed. Rows another worker is claiming at that moment
    are skipped (PostgreSQL's SKIP LOCKED; SQLite runs one writer at a time)."""
    now = clock.utcnow()
    claimed = db.session.execute(
        _claim_statement(model),
        {"now": now, "lease_end": now + lease, "limit": limit},
        execution_options=_PLAIN,
    ).all()
    db.session.commit()
    return sorted(Claim(row_id, attempts) for row_id, attempts in claimed)


# Each courier round runs these: built once per table, so a round pays for the execution
# only (SQLAlchemy caches the compiled form), and no ORM objects are synchronized.
_PLAIN = {"synchronize_session": False}


@cache
def _claim_statement(model: Any) -> Any:
    # Materialized, so the LIMIT holds: written as a plain subquery, one claim racing another
    # worker's on PostgreSQL was seen taking 380 rows with a limit of 20.
    due = (
        select(model.id)
        .where(model.state == PENDING, model.next_attempt_at <= bindparam("now"))
        .order_by(model.next_attempt_at)
        .limit(bindparam("limit", type_=Integer))
        .with_for_update(skip_locked=True)
        .cte("due")
        .prefix_with("MATERIALIZED")
    )
    return (
        update(model)
        .where(model.id.in_(select(due.c.id)), model.state == PENDING)
        .values(next_attempt_at=bindparam("lease_end"), attempts=model.attempts + 1)
        .returning(model.id, model.attempts)
    )


@cache
def _finish_statement(model: Any, columns: tuple[str, ...]) -> Any:
    return (
        update(model)
        .where(model.id == bindparam("row_id"))
        .values({column: bindparam(f"new_{column}") for column in columns})
    )


def attempt_each(
    model: Any, claims: list[Claim], *, lease: timedelta, attempt: Callable[[Claim], None]
) -> None:
    """``attempt`` each claim in turn while its lease holds. A lease is at least twice what
    one attempt may take, so after half of it the claims not yet attempted are given back:
    due again at once, their attempt not counted, for this worker or another to take."""
    deadline = time.monotonic() + lease.total_seconds() / 2
    for index, claim in enumerate(claims):
        if time.monotonic() > deadline:
            _give_back(model, [left.row_id for left in claims[index:]])
            return
        attempt(claim)


def _give_back(model: Any, row_ids: list[int]) -> None:
    db.session.execute(
        update(model)
        .where(model.id.in_(row_ids), model.state == PENDING)
        .values(next_attempt_at=clock.utcnow(), attempts=model.attempts - 1)
    )
    db.session.commit()


def finish(model: Any, row_id: int, **values: Any) -> None:
    """Record the outcome of a claimed row (``state`` and what goes with it) and commit."""
    db.session.execute(
        _finish_statement(model, tuple(values)),
        {"row_id": row_id, **{f"new_{column}": value for column, value in values.items()}},
        execution_options=_PLAIN,
    )
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
