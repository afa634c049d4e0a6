"""Delivering webhook events: signed as Standard Webhooks says, at least once, with the same
``webhook-id`` on every attempt.

Each worker process runs one courier thread (app/core/mail/outbox.py's ``Courier``): a
commit that wrote deliveries wakes it; otherwise it looks for due ones every
``MAIL_POLL_SECONDS``, which is how a delivery left by a killed worker, or waiting for a
retry, is found. A delivery is claimed as a mail is (app/core/leased_rows.py); a 2xx answer
finishes it; anything else (another status, no answer in AUTH_WEBHOOK_TIMEOUT_SECONDS, a URL
that now resolves somewhere it may not) tries it again after an exponential backoff, until
AUTH_WEBHOOK_RETRY_SECONDS have passed since the event: then it is failed. An endpoint whose
deliveries have all failed for AUTH_WEBHOOK_DISABLE_AFTER_SECONDS is disabled, and the
active admins are mailed.
"""

import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from typing import cast

from flask import Flask
from flask import current_app
from flask import has_app_context
from sqlalchemy import delete
from sqlalchemy import event
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.orm import Session
from standardwebhooks.webhooks import Webhook

from app.core import clock
from app.core import leased_rows
from app.core import roles
from app.core.hooks import endpoints
from app.core.hooks import events
from app.core.hooks import transport
from app.core.mail import outbox
from app.core.metrics import WEBHOOK_DELIVERIES
from app.core.metrics import WEBHOOK_QUEUE_DEPTH
from app.core.models import Role
from app.core.models import User
from app.core.models import WebhookDelivery
from app.core.models import WebhookEndpoint
from app.database import db
from app.database import rows_changed

SENT = "sent"
FAILED = "failed"
BATCH = 20
GIVE_UP_CHECK_SECONDS = 60
# A woken courier waits this long, so that one round carries the events of a burst.
GATHER_SECONDS = 0.05
DISABLED_NOTICE = "webhook_disabled"
_EXTENSION_KEY = "authsvc.webhooks"

logger = logging.getLogger(__name__)


class WebhookCourier:
    """Delivers due webhook deliveries: on a thread of each worker process, or inline after
    the commit that wrote them (``MAIL_SEND_IN_BACKGROUND`` false, as in the tests)."""

    def __init__(self, app: Flask) -> None:
        self._app = app
        self._schedule = outbox.Schedule(
            lease=timedelta(seconds=2 * float(app.config["AUTH_WEBHOOK_TIMEOUT_SECONDS"]) + 30),
            retry_for=timedelta(seconds=int(app.config["AUTH_WEBHOOK_RETRY_SECONDS"])),
            longest_wait=timedelta(seconds=int(app.config["AUTH_WEBHOOK_BACKOFF_MAX_SECONDS"])),
        )
        self._next_give_up = 0.0
        background = app.config["MAIL_SEND_IN_BACKGROUND"]
        self._courier = (
            outbox.Courier(
                app,
                self.deliver_due,
                seconds_until_due=seconds_until_due,
                name="webhook-courier",
                gather_seconds=GATHER_SECONDS,
            )
            if background
            else None
        )

    def start(self) -> None:
        if self._courier is not None:
            self._courier.start()

    def stop(self) -> None:
        if self._courier is not None:
            self._courier.stop()

    def written(self) -> None:
        if self._courier is not None:
            self._courier.nudge()
            return
        with self._app.app_context():  # a session of its own: the writer's is mid-commit
            self.deliver_due()

    def flush(self, timeout: float = 10.0) -> bool:
        """Deliver what is due now and wait for it; False on timeout (tests, the CLI)."""
        if self._courier is not None:
            return self._courier.wait_for_a_round(timeout)
        with self._app.app_context():
            self.deliver_due()
        return True

    def deliver_due(self) -> None:
        """Try every due delivery, each claimed first. Needs an app context."""
        if self._courier is None or time.monotonic() >= self._next_give_up:
            # A thread looks for deliveries past their retry period once a minute, not on
            # every wake-up (a busy service wakes it on every commit that emits).
            self._next_give_up = time.monotonic() + GIVE_UP_CHECK_SECONDS
            _give_up_old_deliveries(self._schedule)
        claims = leased_rows.claim_due(WebhookDelivery, lease=self._schedule.lease, limit=BATCH)
        if not claims:
            return
        messages = _prepare(claims)
        leased_rows.attempt_each(
            WebhookDelivery,
            claims,
            lease=self._schedule.lease,
            attempt=lambda claim: self._attempt(claim, messages.get(claim.row_id)),
        )

    def _attempt(self, claim: leased_rows.Claim, prepared: "_Prepared | None") -> None:
        if prepared is None:  # deleted with its endpoint meanwhile
            return
        if prepared.message is None:
            _finish(claim, FAILED, error="endpoint_disabled")
            return
        outcome = _send(
            prepared.url,
            prepared.message,
            timeout=float(self._app.config["AUTH_WEBHOOK_TIMEOUT_SECONDS"]),
        )
        if outcome.status is not None and 200 <= outcome.status < 300:
            _finish(claim, SENT, status=outcome.status)
            if prepared.endpoint_was_failing:
                _endpoint_answered(prepared.endpoint_id)
        else:
            _retry(claim, outcome, self._schedule)
            _endpoint_failed(prepared.endpoint_id)


@dataclass(frozen=True)
class _Prepared:
    url: str
    endpoint_id: int
    endpoint_was_failing: bool
    message: dict[str, Any] | None  # None: the endpoint is disabled


def _prepare(claims: list[leased_rows.Claim]) -> dict[int, _Prepared]:
    """The claimed deliveries signed for their endpoints, read in one statement; the read is
    ended before any receiver is called."""
    rows = db.session.execute(
        select(WebhookDelivery, WebhookEndpoint)
        .join(WebhookEndpoint, WebhookEndpoint.id == WebhookDelivery.endpoint_id)
        .where(WebhookDelivery.id.in_([claim.row_id for claim in claims]))
    ).all()
    prepared = {
        delivery.id: _Prepared(
            url=endpoint.url,
            endpoint_id=endpoint.id,
            endpoint_was_failing=endpoint.failing_since is not None,
            message=_signed_message(delivery, endpoint) if endpoint.enabled else None,
        )
        for delivery, endpoint in rows
    }
    db.session.commit()
    return prepared


def seconds_until_due(longest: float) -> float:
    """Until the earliest pending delivery falls due, at most ``longest``; also reports how
    many wait."""
    pending, earliest = leased_rows.pending_and_earliest(WebhookDelivery)
    WEBHOOK_QUEUE_DEPTH.set(pending)
    return leased_rows.seconds_until(earliest, longest)


class Outcome:
    def __init__(self, status: int | None, error: str | None) -> None:
        self.status = status
        self.error = error


def _signed_message(delivery: WebhookDelivery, endpoint: WebhookEndpoint) -> dict[str, Any]:
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    sent_at = clock.utcnow()
    signatures = [
        Webhook(secret).sign(delivery.message_id, sent_at, body)
        for secret in endpoints.signing_secrets(endpoint)
    ]
    headers = {
        "Content-Type": "application/json",
        "User-Agent": "authsvc-webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(sent_at.timestamp())),
        "webhook-signature": " ".join(signatures),
    }
    return {"body": body, "headers": headers}


def _send(url: str, message: dict[str, Any], *, timeout: float) -> Outcome:
    try:
        answer = transport.post(
            url,
            body=message["body"],
            headers=message["headers"],
            timeout=timeout,
            allow_private=endpoints.allow_private(),
        )
    except transport.UnsafeUrlError:
        return Outcome(None, "unsafe_url")
    except transport.TransportError as error:
        return Outcome(None, error.reason)
    return Outcome(answer.status, None if answer.status < 300 else f"status_{answer.status}")


def _finish(
    claim: leased_rows.Claim, state: str, *, status: int | None = None, error: str | None = None
) -> None:
    now = clock.utcnow()
    leased_rows.finish(
        WebhookDelivery,
        claim.row_id,
        state=state,
        last_attempt_at=now,
        last_status=status,
        last_error=error,
        delivered_at=now if state == SENT else None,
    )
    WEBHOOK_DELIVERIES.labels("sent" if state == SENT else "failed").inc()


def _retry(claim: leased_rows.Claim, outcome: Outcome, schedule: outbox.Schedule) -> None:
    leased_rows.try_later(
        WebhookDelivery,
        claim,
        wait=schedule.wait_after(claim.attempts),
        last_attempt_at=clock.utcnow(),
        last_status=outcome.status,
        last_error=outcome.error,
    )
    WEBHOOK_DELIVERIES.labels("retry").inc()
    logger.warning(
        "Webhook not delivered yet",
        extra={
            "fields": {"delivery": claim.row_id, "attempts": claim.attempts, "error": outcome.error}
        },
    )


def _give_up_old_deliveries(schedule: outbox.Schedule) -> None:
    cutoff = clock.utcnow() - schedule.retry_for
    gave_up = leased_rows.give_up_older_than(
        WebhookDelivery, cutoff, state=FAILED, last_error="given_up"
    )
    if gave_up:
        WEBHOOK_DELIVERIES.labels("failed").inc(gave_up)
        logger.error("Webhook deliveries given up on", extra={"fields": {"deliveries": gave_up}})


def _endpoint_answered(endpoint_id: int) -> None:
    db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.failing_since.is_not(None))
        .values(failing_since=None)
    )
    db.session.commit()


def _endpoint_failed(endpoint_id: int) -> None:
    """Note the failure; disable the endpoint (and mail the admins) when it has failed for
    AUTH_WEBHOOK_DISABLE_AFTER_SECONDS. The conditional UPDATE makes one worker the one that
    disables it, so the admins get one mail."""
    now = clock.utcnow()
    db.session.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id, WebhookEndpoint.failing_since.is_(None))
        .values(failing_since=now)
    )
    limit = timedelta(seconds=int(current_app.config["AUTH_WEBHOOK_DISABLE_AFTER_SECONDS"]))
    disabled = db.session.execute(
        update(WebhookEndpoint)
        .where(
            WebhookEndpoint.id == endpoint_id,
            WebhookEndpoint.enabled.is_(True),
            WebhookEndpoint.failing_since <= now - limit,
        )
        .values(enabled=False, disabled_reason="failing")
        .returning(WebhookEndpoint.url)
    ).first()
    if disabled is not None:
        _mail_admins(endpoint_id, disabled.url)
        logger.error("Webhook endpoint disabled", extra={"fields": {"endpoint": endpoint_id}})
    db.session.commit()


def _mail_admins(endpoint_id: int, url: str) -> None:
    admins = db.session.execute(
        select(User.email, User.locale)
        .join(User.roles)
        .where(Role.name == roles.ADMIN, User.is_active.is_(True), User.email.is_not(None))
    ).all()
    for email, locale in admins:
        assert email is not None  # the query's own condition
        outbox.write(
            outbox.Mail(
                template=DISABLED_NOTICE,
                to=email,
                locale=locale,
                context={"email": email, "endpoint": endpoint_id, "url": url},
            )
        )


def purge_finished() -> int:
    """Delete deliveries sent or failed more than a week ago (``flask tokens purge``)."""
    deleted = rows_changed(
        delete(WebhookDelivery).where(
            WebhookDelivery.state != events.PENDING,
            WebhookDelivery.created_at < clock.utcnow() - outbox.FINISHED_KEPT,
        )
    )
    db.session.commit()
    return deleted


def retry_delivery(delivery: WebhookDelivery) -> None:
    """Caller commits. Try a delivery again now, whatever became of it."""
    delivery.state = events.PENDING
    delivery.next_attempt_at = clock.utcnow()
    delivery.created_at = clock.utcnow()  # its retry period starts again
    events.note_deliveries_written()


@event.listens_for(Session, "after_commit")
def _deliver_written(session: Session) -> None:
    if events.wrote_deliveries(session) and has_app_context():
        courier = current_app.extensions.get(_EXTENSION_KEY)
        if courier is not None:
            cast(WebhookCourier, courier).written()


CLASS_LISTENERS = ((Session, "after_commit", _deliver_written),)


def install_webhooks(app: Flask) -> None:
    previous = app.extensions.get(_EXTENSION_KEY)
    if previous is not None:
        previous.stop()
    app.extensions[_EXTENSION_KEY] = WebhookCourier(app)


def start_delivery(app: object) -> None:
    """Deliver webhooks from this process: a gunicorn worker, once forked."""
    if isinstance(app, Flask) and _EXTENSION_KEY in app.extensions:
        cast(WebhookCourier, app.extensions[_EXTENSION_KEY]).start()


def webhook_courier() -> WebhookCourier:
    return cast(WebhookCourier, current_app.extensions[_EXTENSION_KEY])
