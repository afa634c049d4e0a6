"""The events a webhook endpoint can subscribe to, and ``emit``: an event goes out with the
transaction of the change that caused it, or not at all.

``emit`` keeps the event on the database session; just before that session commits, one
delivery row per subscribed endpoint is added to the same transaction (a rolled-back change
sends nothing, a committed one cannot lose its event). A transaction without events, or a
service without endpoints, pays nothing more than that one check.
"""

from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any
from uuid import uuid4

from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy.orm import Session

from app.core import clock
from app.core.models import User
from app.core.models import WebhookDelivery
from app.core.models import WebhookEndpoint
from app.database import db

EVENT_TYPES = (
    "user.created",
    "user.updated",
    "user.deleted",
    "user.signed_in",
    "user.locked",
    "session.ended",
    "password.changed",
    "email.changed",
    "mfa.enabled",
    "mfa.disabled",
    "passkey.added",
    "passkey.removed",
    "identity.linked",
    "identity.unlinked",
)
ALL = "*"
PENDING = "pending"
_EMITTED = "authsvc.emitted_events"
_WROTE = "authsvc.wrote_deliveries"


@dataclass
class _Emitted:
    type: str
    occurred_at: datetime
    user: User | int | None
    data: dict[str, Any]
    # The user's fields when the event was emitted: a deleted user's last state.
    snapshot: dict[str, Any] | None = field(default=None)


def emit(event_type: str, *, user: User | int | None = None, **data: Any) -> None:
    """Caller commits. ``event_type`` goes to the endpoints that subscribe to it, with the
    public fields of ``user`` (a user or its id) as they are at the commit, and ``data``."""
    if event_type not in EVENT_TYPES:
        raise KeyError(f"no event type {event_type!r}")
    emitted = _Emitted(event_type, clock.utcnow(), user, data)
    if event_type == "user.deleted" and isinstance(user, User):
        emitted.snapshot = public_user(user)
    db.session.info.setdefault(_EMITTED, []).append(emitted)


def public_user(user: User) -> dict[str, Any]:
    """What a receiver learns of a user: never a hash, a token, a secret or a code."""
    return {
        "id": str(user.id),
        "email": user.email,
        "username": user.username,
        "roles": user.role_names,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "displayName": user.display_name,
        "emailVerified": user.email_verified_at is not None,
        "isActive": user.is_active,
        "createdAt": _timestamp(user.created_at),
    }


def note_deliveries_written() -> None:
    """Caller commits. Wake the courier after the commit (a delivery sent again)."""
    db.session.info[_WROTE] = True


def wrote_deliveries(session: Session) -> bool:
    """Whether the transaction ``session`` just committed wrote deliveries (asked once)."""
    return bool(session.info.pop(_WROTE, False))


def subscribes(events: list[str], event_type: str) -> bool:
    return ALL in events or event_type in events


@event.listens_for(Session, "before_commit")
def _write_deliveries(session: Session) -> None:
    emitted: list[_Emitted] | None = session.info.pop(_EMITTED, None)
    if not emitted:
        return
    endpoints = session.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.events).where(WebhookEndpoint.enabled)
    ).all()
    if not endpoints:
        return
    session.flush()  # the ids of users created in this transaction
    for item in emitted:
        payload = _payload(session, item)
        for endpoint_id, events in endpoints:
            if subscribes(events, item.type):
                session.add(_delivery(endpoint_id, item, payload))
                session.info[_WROTE] = True


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_events(session: Session, _previous: Any) -> None:
    session.info.pop(_EMITTED, None)
    session.info.pop(_WROTE, None)


CLASS_LISTENERS = (
    (Session, "before_commit", _write_deliveries),
    (Session, "after_soft_rollback", _forget_rolled_back_events),
)


def _payload(session: Session, item: _Emitted) -> dict[str, Any]:
    data = dict(item.data)
    user = session.get(User, item.user) if isinstance(item.user, int) else item.user
    if item.snapshot is not None:
        data["user"] = item.snapshot
    elif user is not None:
        data["user"] = public_user(user)
    return {"type": item.type, "timestamp": _timestamp(item.occurred_at), "data": data}


def _delivery(endpoint_id: int, item: _Emitted, payload: dict[str, Any]) -> WebhookDelivery:
    return WebhookDelivery(
        endpoint_id=endpoint_id,
        message_id=f"msg_{uuid4().hex}",
        event_type=item.type,
        payload=payload,
        created_at=item.occurred_at,
        state=PENDING,
        next_attempt_at=item.occurred_at,
        attempts=0,
    )


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
