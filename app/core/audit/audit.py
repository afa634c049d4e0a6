"""The audit log of auth events: a row in ``auth_events`` and one JSON log line each.

Only identifiers and the request's origin are kept: never a password, hash or token.
"""

from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import TypedDict
from typing import Unpack

from flask import current_app
from flask import has_request_context
from flask import request
from sqlalchemy import ColumnElement
from sqlalchemy import Select
from sqlalchemy import delete
from sqlalchemy import insert
from sqlalchemy import or_
from sqlalchemy import select

from app.core import clock
from app.core import roles
from app.core.audit.origin import current_client
from app.core.audit.writer import audit_writer
from app.core.metrics import AUTH_EVENTS
from app.core.metrics import count_auth_event
from app.core.models import AuthEvent
from app.database import db
from app.database import one_page
from app.database import rows_changed

EVENTS = (
    "register",
    "login",
    "refresh",
    "refresh_reuse",
    "logout",
    "password_change",
    "password_reset",
    "email_verified",
    "user_updated",
    "user_deleted",
    "account_unlocked",
    "sessions_ended",
    "user_mailed",
    "whitelist_added",
    "whitelist_removed",
    "role_created",
    "role_updated",
    "role_deleted",
    "client_auth",
    "client_created",
    "client_key_rotated",
    "client_revoked",
    "mfa_enabled",
    "mfa_disabled",
    "mfa_failed",
    "recovery_code_used",
    "recovery_codes_regenerated",
    "passkey_added",
    "passkey_removed",
    "passkey_cloned",
    "user_imported",
    "password_upgraded",
    "oidc_login",
    "oidc_failed",
    "oidc_app_code",
    "identity_linked",
    "identity_unlinked",
    "reauthenticated",
    "mfa_locked",
    "mfa_unlocked",
    "ways_in_ended",
    "email_change",
    "email_changed",
    "data_exported",
    "webhook_created",
    "webhook_updated",
    "webhook_deleted",
    "webhook_secret_rotated",
    "hook_failed",
    "hook_rejected",
)


@dataclass(frozen=True)
class EventPage:
    events: Sequence[AuthEvent]
    page: int
    per_page: int
    total: int


class EventFields(TypedDict, total=False):
    """What an event names besides its kind and outcome (each None when left out)."""

    user_id: int | None
    # The user an admin's action changed (user_updated, user_deleted); user_id is the admin.
    target_user_id: int | None
    client_id: str | None
    session_id: str | None
    details: dict[str, Any] | None
    # Where the request came from, for work done after it answered (request_origin).
    origin: dict[str, str | None] | None


def record(*, event: str, outcome: str, **fields: Unpack[EventFields]) -> None:
    """Log one event at once and store its row: batched off the request path
    (audit_writer.py), or, with AUTH_AUDIT_BATCHED off, inserted and committed here. Call it
    after the caller's own commit: it never commits the caller's work."""
    record_row(event_row(event=event, outcome=outcome, **fields))


def record_row(row: dict[str, Any]) -> None:
    """``record`` for a row built already by ``event_row``."""
    announce(row)
    writer = audit_writer(current_app)
    if writer is not None:
        writer.submit(row)
        return
    db.session.execute(insert(AuthEvent), [row])
    db.session.commit()


def event_row(*, event: str, outcome: str, **fields: Unpack[EventFields]) -> dict[str, Any]:
    """The ``auth_events`` row of one event, as ``record`` stores it; a statement that stores
    it with the change it records ``announce``s it once that statement has."""
    return {
        "occurred_at": clock.utcnow(),
        "event": event,
        "outcome": outcome,
        "user_id": fields.get("user_id"),
        "target_user_id": fields.get("target_user_id"),
        "client_id": fields.get("client_id"),
        "session_id": fields.get("session_id"),
        "details": fields.get("details") or None,
        **(fields.get("origin") or request_origin()),
    }


def announce(row: dict[str, Any]) -> None:
    """The log line and the count of an event whose row is stored (or queued to be)."""
    current_app.logger.info("auth event", extra={"fields": _log_fields(row)})
    count_auth_event(row["event"], row["outcome"])


def stage_events(*, event: str, user_ids: Sequence[int], details: dict[str, Any]) -> None:
    """One successful ``event`` row per user, in the caller's transaction (committed or
    rolled back with the work it records), and one log line for them all: a bulk job's
    events, such as an import's thousands."""
    if not user_ids:
        return
    common = event_row(event=event, outcome="success", details=details)
    db.session.execute(insert(AuthEvent), [common | {"user_id": uid} for uid in user_ids])
    fields = {"event": event, "count": len(user_ids), "details": details}
    current_app.logger.info("auth events", extra={"fields": fields})
    AUTH_EVENTS.labels(event, "success").inc(len(user_ids))


OUTCOMES = ("success", "failure", "locked", "mfa_required", "requested", "session_revoked")
EXPORT_LIMIT = 100_000  # rows in one CSV export, newest first


@dataclass(frozen=True)
class EventFilter:
    """Which events a query shows; ``user_id`` matches whoever acted or was acted on."""

    user_id: int | None = None
    event: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def list_events(
    *, actor: roles.Actor, page: int, per_page: int, filters: EventFilter | None = None
) -> EventPage:
    roles.require_role(actor, roles.ADMIN)
    query = _newest_first(_event_conditions(filters or EventFilter()))
    events, total = one_page(query, page=page, per_page=per_page)
    return EventPage(events=events, page=page, per_page=per_page, total=total)


def export_events(*, actor: roles.Actor, filters: EventFilter) -> Iterator[AuthEvent]:
    """The matching events, newest first, up to EXPORT_LIMIT, read a thousand at a time."""
    roles.require_role(actor, roles.ADMIN)
    query = _newest_first(_event_conditions(filters)).limit(EXPORT_LIMIT)
    yield from db.session.scalars(query.execution_options(yield_per=1000))


def _newest_first(conditions: list[ColumnElement[bool]]) -> Select[AuthEvent]:
    return (
        select(AuthEvent)
        .where(*conditions)
        .order_by(AuthEvent.occurred_at.desc(), AuthEvent.id.desc())
    )


def _event_conditions(filters: EventFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.user_id is not None:
        # Whoever acted or was acted on: an admin's change shows in the changed user's trail.
        conditions.append(
            or_(AuthEvent.user_id == filters.user_id, AuthEvent.target_user_id == filters.user_id)
        )
    if filters.event is not None:
        conditions.append(AuthEvent.event == filters.event)
    if filters.outcome is not None:
        conditions.append(AuthEvent.outcome == filters.outcome)
    if filters.since is not None:
        conditions.append(AuthEvent.occurred_at >= filters.since)
    if filters.until is not None:
        conditions.append(AuthEvent.occurred_at < filters.until)
    return conditions


def events_of(*, user_id: int, limit: int) -> Sequence[AuthEvent]:
    """The newest events a user acted in or was acted on, for their own data export."""
    return db.session.scalars(
        select(AuthEvent)
        .where(or_(AuthEvent.user_id == user_id, AuthEvent.target_user_id == user_id))
        .order_by(AuthEvent.occurred_at.desc(), AuthEvent.id.desc())
        .limit(limit)
    ).all()


def purge_events() -> int:
    """Delete events older than AUTH_AUDIT_RETENTION_DAYS; return how many."""
    days = current_app.config["AUTH_AUDIT_RETENTION_DAYS"]
    cutoff = clock.utcnow() - timedelta(days=days)
    deleted = rows_changed(delete(AuthEvent).where(AuthEvent.occurred_at < cutoff))
    db.session.commit()
    return deleted


def request_origin() -> dict[str, str | None]:
    """Where the request comes from, kept for work done after it answered."""
    if not has_request_context():
        return {"dialect": "cli", "ip": None, "user_agent": None}
    client = current_client()
    return {"dialect": request.blueprint, "ip": client.ip, "user_agent": client.user_agent}


def _log_fields(row: dict[str, Any]) -> dict[str, Any]:
    fields = {key: value for key, value in row.items() if key not in ("occurred_at", "details")}
    return fields | ({"details": row["details"]} if row["details"] else {})
