"""The admin dashboard's figures: sign-ins, failures and refusals per hour over the last day
and per day over the last month, new users, and how many accounts have a second factor.

Every count is one grouped statement over an index (migration 0015): events by kind, time
and outcome; users by when they were made. Buckets are UTC hours and days, cut by the
database (PostgreSQL's date_trunc at UTC, SQLite's strftime over its UTC text), and the
buckets with nothing in them are filled in here.

Requests refused by a rate limit are not here: recording each would let a flood write to
the database. Prometheus counts them (authsvc_budget_refusals_total).
"""

from collections import Counter
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import union

from app.core import clock
from app.core import roles
from app.core.models import AuthEvent
from app.core.models import Passkey
from app.core.models import TotpFactor
from app.core.models import User
from app.database import db

SIGN_IN_EVENTS = ("login", "oidc_login")
# Credential and token checks that can refuse someone: their failures are the "refused".
REFUSAL_EVENTS = (
    "login", "oidc_failed", "refresh", "refresh_reuse", "client_auth", "mfa_failed",
    "mfa_locked", "reauthenticated", "password_change", "password_reset", "hook_rejected",
)  # fmt: skip
REFUSED_OUTCOMES = frozenset({"failure", "locked", "session_revoked"})
HOURS, DAYS = 24, 30


@dataclass(frozen=True)
class Bucket:
    start: datetime
    sign_ins: int
    failures: int
    refused: int
    new_users: int


@dataclass(frozen=True)
class Dashboard:
    generated_at: datetime
    hourly: list[Bucket]
    daily: list[Bucket]
    users: int
    active_users: int
    with_second_factor: int


def dashboard(*, actor: roles.Actor) -> Dashboard:
    roles.require_role(actor, roles.ADMIN)
    now = clock.utcnow()
    this_hour = now.replace(minute=0, second=0, microsecond=0)
    today = this_hour.replace(hour=0)
    hours = [this_hour - timedelta(hours=n) for n in range(HOURS - 1, -1, -1)]
    days = [today - timedelta(days=n) for n in range(DAYS - 1, -1, -1)]
    users, active = db.session.execute(
        select(func.count(User.id), func.count(User.id).filter(User.is_active.is_(True)))
    ).one()
    return Dashboard(
        generated_at=now,
        hourly=_buckets(hours, "hour"),
        daily=_buckets(days, "day"),
        users=int(users),
        active_users=int(active),
        with_second_factor=_users_with_second_factor(),
    )


def _buckets(starts: list[datetime], unit: str) -> list[Bucket]:
    since = starts[0]
    events: Counter[tuple[datetime, str]] = Counter()
    bucket = _bucket(AuthEvent.occurred_at, unit)
    found = db.session.execute(
        select(bucket, AuthEvent.event, AuthEvent.outcome, func.count())
        .where(
            AuthEvent.event.in_(set(SIGN_IN_EVENTS) | set(REFUSAL_EVENTS)),
            AuthEvent.occurred_at >= since,
        )
        .group_by(bucket, AuthEvent.event, AuthEvent.outcome)
    )
    for start, event, outcome, count in found:
        for kind in _kinds(event, outcome):
            events[(_as_start(start), kind)] += count
    made = _bucket(User.created_at, unit)
    new_users = {
        _as_start(start): count
        for start, count in db.session.execute(
            select(made, func.count()).where(User.created_at >= since).group_by(made)
        )
    }
    return [
        Bucket(
            start=start,
            sign_ins=events[(start, "sign_in")],
            failures=events[(start, "failure")],
            refused=events[(start, "refused")],
            new_users=int(new_users.get(start, 0)),
        )
        for start in starts
    ]


def _kinds(event: str, outcome: str) -> list[str]:
    kinds = []
    if event in SIGN_IN_EVENTS and outcome == "success":
        kinds.append("sign_in")
    if event in SIGN_IN_EVENTS and outcome == "failure":
        kinds.append("failure")
    if event in REFUSAL_EVENTS and outcome in REFUSED_OUTCOMES:
        kinds.append("refused")
    return kinds


def _bucket(column: Any, unit: str) -> Any:
    if db.session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(unit, func.timezone("UTC", column))
    pattern = "%Y-%m-%d %H:00:00" if unit == "hour" else "%Y-%m-%d 00:00:00"
    return func.strftime(pattern, column)


def _as_start(value: datetime | str) -> datetime:
    """A bucket's start as the database gave it (a naive UTC datetime, or SQLite's text)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    return moment.replace(tzinfo=UTC)


def _users_with_second_factor() -> int:
    owners = union(
        select(TotpFactor.user_id).where(TotpFactor.confirmed_at.is_not(None)),
        select(Passkey.user_id),
    ).subquery()
    return int(db.session.scalar(select(func.count()).select_from(owners)) or 0)
