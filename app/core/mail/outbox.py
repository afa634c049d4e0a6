"""The mail outbox: mails written in the transaction that causes them, delivered by the
running service, retried with backoff until ``MAIL_RETRY_SECONDS`` have passed.

- ``write`` adds a mail to the caller's transaction: it exists if, and only if, what caused
  it was committed. ``write_job`` adds a job, which decides at delivery whether there is a
  mail at all (``register_job``): the request that writes one does the same work whichever
  way it turns out.
- Each worker process runs one courier thread. A commit that wrote mail wakes it; otherwise
  it looks for due mail every ``MAIL_POLL_SECONDS``, which is how mail left by a killed
  worker, or waiting for a retry, is found.
- A courier claims a mail by moving its ``next_attempt_at`` past the time an attempt may take
  (a conditional UPDATE: two couriers never both claim it). If the courier dies, the mail is
  due again once that time has passed; a mail is so sent at least once, and a mail sent twice
  (the process died between the SMTP server's answer and the row's update) carries the same
  Message-ID and Date both times.
- With ``MAIL_SEND_IN_BACKGROUND=false`` (testing) mail is delivered inline, right after the
  commit that wrote it.
"""

import atexit
import logging
import random
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from uuid import uuid4

from flask import Flask
from sqlalchemy import delete
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core import clock
from app.core import leased_rows
from app.core.leased_rows import Claim
from app.core.metrics import MAIL_FAILURES
from app.core.metrics import MAIL_QUEUE_DEPTH
from app.core.models import OutboxMail
from app.database import db
from app.database import rows_changed

PENDING = leased_rows.PENDING
SENT = "sent"
DROPPED = "dropped"  # a job that found nothing to send
FAILED = "failed"  # given up on

BATCH = 20
FIRST_RETRY_SECONDS = 10
EXIT_WAIT_SECONDS = 5
# Sent, dropped and failed mails are kept this long (who was mailed what, and when), then
# deleted by `flask tokens purge`.
FINISHED_KEPT = timedelta(days=7)
_WROTE_MAIL = "authsvc.wrote_mail"

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Mail:
    """What a mail will say: a template, its recipient, language and context."""

    template: str
    to: str
    context: dict[str, Any]
    locale: str | None = None


Job = Callable[..., Mail | None]
_jobs: dict[str, Job] = {}


def register_job(name: str, job: Job) -> None:
    """``job(**context)`` runs at delivery, in a transaction that also stores the mail it
    returns (so a token it issues is issued once); None: there is nothing to send."""
    _jobs[name] = job


def write(mail: Mail) -> None:
    """Add ``mail`` to the current transaction; the caller commits."""
    _add(OutboxMail(
        template=mail.template, recipient=mail.to, locale=mail.locale, context=mail.context
    ))  # fmt: skip


def write_job(name: str, **context: Any) -> None:
    """Add a job (``register_job``) to the current transaction; the caller commits."""
    if name not in _jobs:
        raise KeyError(f"no mail job {name!r}")
    _add(OutboxMail(job=name, context=context))


def _add(row: OutboxMail) -> None:
    now = clock.utcnow()
    row.message_id = uuid4().hex
    row.created_at = now
    row.next_attempt_at = now
    row.state = PENDING
    row.attempts = 0
    db.session.add(row)
    db.session.info[_WROTE_MAIL] = True


def wrote_mail(session: Session) -> bool:
    """Whether the transaction ``session`` just committed wrote mail (asked once)."""
    return bool(session.info.pop(_WROTE_MAIL, False))


@event.listens_for(Session, "after_soft_rollback")
def _forget_rolled_back_mail(session: Session, _previous: Any) -> None:
    session.info.pop(_WROTE_MAIL, None)


CLASS_LISTENERS = ((Session, "after_soft_rollback", _forget_rolled_back_mail),)


@dataclass(frozen=True)
class Schedule:
    lease: timedelta  # longer than one attempt can take
    retry_for: timedelta
    longest_wait: timedelta

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> "Schedule":
        return cls(
            lease=timedelta(seconds=4 * int(config["MAIL_TIMEOUT"]) + 30),
            retry_for=timedelta(seconds=int(config["MAIL_RETRY_SECONDS"])),
            longest_wait=timedelta(seconds=int(config["MAIL_BACKOFF_MAX_SECONDS"])),
        )

    def wait_after(self, attempts: int) -> timedelta:
        """Exponential backoff from FIRST_RETRY_SECONDS, capped, with jitter so the mails of
        one outage do not all come due together."""
        longest = self.longest_wait.total_seconds()
        seconds = min(FIRST_RETRY_SECONDS * 2 ** min(attempts - 1, 20), longest)
        return timedelta(seconds=seconds * random.uniform(0.75, 1.0))  # noqa: S311 (jitter)


def claim_due(schedule: Schedule, limit: int = BATCH) -> list[Claim]:
    """The due mails this courier now holds (app/core/leased_rows.py)."""
    give_up_old_mail(schedule)
    return leased_rows.claim_due(OutboxMail, lease=schedule.lease, limit=limit)


def give_up_old_mail(schedule: Schedule) -> None:
    cutoff = clock.utcnow() - schedule.retry_for
    gave_up = leased_rows.give_up_older_than(OutboxMail, cutoff, state=FAILED, context={})
    if gave_up:
        MAIL_FAILURES.labels("given_up").inc(gave_up)
        logger.error("Mail given up on", extra={"fields": {"mails": gave_up}})


def prepare(mail_id: int) -> OutboxMail | None:
    """The claimed mail, its job (if any) run and its result stored; None: nothing to send."""
    row = db.session.get(OutboxMail, mail_id)
    if row is None or row.state != PENDING:
        db.session.rollback()
        return None
    if row.job is not None:
        mail = _jobs[row.job](**row.context)
        if mail is None:
            row.state, row.context = DROPPED, {}
            db.session.commit()
            return None
        row.job = None
        row.template, row.recipient, row.locale = mail.template, mail.to, mail.locale
        row.context = mail.context
        db.session.commit()
    return row


def mark_sent(mail_id: int) -> None:
    leased_rows.finish(
        OutboxMail, mail_id, state=SENT, sent_at=clock.utcnow(), context={}, last_error=None
    )


def retry_later(claim: Claim, *, error: BaseException, schedule: Schedule) -> None:
    leased_rows.try_later(
        OutboxMail,
        claim,
        wait=schedule.wait_after(claim.attempts),
        last_error=type(error).__name__,
    )


def purge_finished() -> int:
    """Delete mails finished (sent, dropped, given up on) more than FINISHED_KEPT ago."""
    deleted = rows_changed(
        delete(OutboxMail).where(
            OutboxMail.state != PENDING, OutboxMail.created_at < clock.utcnow() - FINISHED_KEPT
        )
    )
    db.session.commit()
    return deleted


def seconds_until_next_due(longest: float) -> float:
    """Until the earliest pending mail falls due, at most ``longest``; also reports how many
    mails are waiting."""
    pending, earliest = leased_rows.pending_and_earliest(OutboxMail)
    MAIL_QUEUE_DEPTH.set(pending)
    return leased_rows.seconds_until(earliest, longest)


class Courier:
    """The thread of one worker process that delivers due mail with ``deliver_due``."""

    def __init__(
        self,
        app: Flask,
        deliver_due: Callable[[], None],
        *,
        seconds_until_due: Callable[[float], float] | None = None,
        name: str = "mail-courier",
        gather_seconds: float = 0.0,
    ) -> None:
        """``seconds_until_due(longest)``: how long the thread may sleep after a round (by
        default, until the outbox's next mail falls due). ``gather_seconds``: how long a
        woken thread waits before its round, so that what a burst of commits wrote (the two
        events of one registration) goes out in one round."""
        self._app = app
        self._deliver_due = deliver_due
        self._seconds_until_due = seconds_until_due or seconds_until_next_due
        self._name = name
        self._gather_seconds = gather_seconds
        self._poll_seconds = float(app.config["MAIL_POLL_SECONDS"])
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._rounds = 0
        self._busy = False
        self._round_done = threading.Condition()

    def nudge(self) -> None:
        self.start()
        self._wake.set()

    def start(self) -> None:
        """Start the thread in this process, if it is not running here yet (gunicorn forks
        its workers from a master that loaded the app: a thread does not cross a fork)."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            if self._thread is None:
                # A short command (the CLI) that wrote mail sends it before it exits.
                atexit.register(self.wait_for_a_round, EXIT_WAIT_SECONDS)
            self._stopped.clear()
            self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        atexit.unregister(self.wait_for_a_round)
        self._stopped.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def wait_for_a_round(self, timeout: float) -> bool:
        """Wake the thread and wait for a round that began after this call; False on timeout.
        A round tries every mail due when it began."""
        with self._round_done:
            # A round under way may have begun before this call: wait for the next one too.
            wanted = self._rounds + (2 if self._busy else 1)
            self.nudge()
        with self._round_done:
            return self._round_done.wait_for(lambda: self._rounds >= wanted, timeout)

    def _run(self) -> None:
        while not self._stopped.is_set():
            with self._round_done:
                self._wake.clear()
                self._busy = True
            wait = self._round()
            with self._round_done:
                self._busy = False
                self._rounds += 1
                self._round_done.notify_all()
            if self._wake.wait(wait) and self._gather_seconds:
                self._stopped.wait(self._gather_seconds)

    def _round(self) -> float:
        try:
            with self._app.app_context():
                self._deliver_due()
                return self._seconds_until_due(self._poll_seconds)
        except Exception as error:  # the thread must outlive a database outage
            MAIL_FAILURES.labels("job").inc()
            self._app.logger.error(
                "Mail delivery round failed", extra={"fields": {"error": type(error).__name__}}
            )
            return self._poll_seconds
