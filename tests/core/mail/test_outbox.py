"""The mail outbox: a mail exists when what caused it was committed, is sent once it is
due, waits out a mail server that is down, is picked up again when its sender died, and is
given up on only after MAIL_RETRY_SECONDS."""

import threading
import time
from datetime import timedelta

import pytest
from flask import current_app
from sqlalchemy import select
from sqlalchemy import update

from app.core import leased_rows
from app.core.mail import outbox
from app.core.mail.mail import install_mailer
from app.core.mail.mail import mailer
from app.core.models import OutboxMail
from app.database import db
from tests.mailbox import Mailbox
from tests.mailbox import html_of
from tests.mailbox import text_of

NOTICE = outbox.Mail(
    template="password_changed", to="ada@example.com", context={"email": "ada@example.com"}
)
SUBJECT = "The password of your account was changed"


def _rows() -> list[OutboxMail]:
    rows = list(db.session.scalars(select(OutboxMail).order_by(OutboxMail.id)))
    db.session.commit()
    return rows


def _make_due(mail_id: int) -> None:
    db.session.execute(
        update(OutboxMail)
        .where(OutboxMail.id == mail_id)
        .values(next_attempt_at=OutboxMail.created_at)
    )
    db.session.commit()


@pytest.fixture
def down_mailbox(app):
    """A mailbox whose SMTP server is not listening yet: ``start()`` opens it."""
    box = Mailbox()
    app.config["MAIL_URL"] = box.url
    install_mailer(app)
    yield box
    box.stop()


def test_a_mail_is_sent_with_the_commit_that_wrote_it_with_a_text_and_an_html_part(
    app_context, mailbox
):
    outbox.write(NOTICE)
    assert mailbox.to("ada@example.com") == []
    db.session.commit()

    mail = mailbox.wait_for("ada@example.com", SUBJECT)
    assert "ada@example.com" in text_of(mail)
    assert "<strong>The password of your account was changed</strong>" in html_of(mail)
    [row] = _rows()
    assert (row.state, row.attempts, row.context) == ("sent", 1, {})
    assert mail["Message-ID"] == f"<{row.message_id}@localhost>"


def test_a_mail_whose_cause_was_rolled_back_does_not_exist(app_context, mailbox):
    outbox.write(NOTICE)
    db.session.rollback()
    outbox.write(outbox.Mail(template="mfa_enabled", to="bob@example.com", context={"email": "b"}))
    db.session.commit()

    mailbox.wait_for("bob@example.com", "Two-step sign-in was turned on for your account")
    assert mailbox.to("ada@example.com") == []
    assert [row.recipient for row in _rows()] == ["bob@example.com"]


def test_a_mail_server_that_is_down_delays_the_mail_until_it_answers(app_context, down_mailbox):
    outbox.write(NOTICE)
    db.session.commit()
    [row] = _rows()
    assert (row.state, row.attempts, row.last_error) == ("pending", 1, "ConnectionRefusedError")
    assert row.next_attempt_at >= row.created_at + timedelta(seconds=7)

    down_mailbox.start()
    mailer().deliver_due()
    assert down_mailbox.to("ada@example.com") == []  # not due yet
    _make_due(row.id)
    mailer().deliver_due()

    [sent] = down_mailbox.to("ada@example.com")
    assert sent["Message-ID"] == f"<{row.message_id}@localhost>"
    assert [r.state for r in _rows()] == ["sent"]


def test_retries_back_off_exponentially_up_to_the_longest_wait():
    schedule = outbox.Schedule(
        lease=timedelta(seconds=70),
        retry_for=timedelta(days=2),
        longest_wait=timedelta(minutes=30),
    )
    waits = [schedule.wait_after(attempt).total_seconds() for attempt in range(1, 12)]

    assert 7.5 <= waits[0] <= 10
    assert 15 <= waits[1] <= 20
    assert 60 <= waits[3] <= 80
    assert all(1350 <= wait <= 1800 for wait in waits[8:])
    assert sum(waits) < 2 * 24 * 3600  # many tries within the retry window


def test_a_mail_claimed_by_a_sender_that_died_is_sent_once_its_lease_ends(
    app_context, down_mailbox, frozen_clock
):
    outbox.write(NOTICE)
    db.session.commit()  # the first try fails: the server is down
    down_mailbox.start()
    frozen_clock.advance(60)
    schedule = outbox.Schedule.from_config(current_app.config)
    [claim] = outbox.claim_due(schedule)  # a sender that then dies without a word

    assert outbox.claim_due(schedule) == []
    frozen_clock.advance(schedule.lease.total_seconds() - 1)
    mailer().deliver_due()
    assert down_mailbox.to("ada@example.com") == []
    frozen_clock.advance(2)
    mailer().deliver_due()

    assert len(down_mailbox.to("ada@example.com")) == 1
    assert [(r.state, r.attempts) for r in _rows()] == [("sent", 3)]
    assert claim.attempts == 2


def test_two_couriers_never_claim_the_same_mail(app, down_mailbox):
    with app.app_context():
        for number in range(30):
            outbox.write(
                outbox.Mail(
                    template="mfa_enabled", to=f"{number}@example.com", context={"email": "x"}
                )
            )
        db.session.commit()  # every first try fails
        db.session.execute(update(OutboxMail).values(next_attempt_at=OutboxMail.created_at))
        db.session.commit()
    schedule = outbox.Schedule.from_config(app.config)
    claimed: list[list[int]] = [[], []]
    sizes: list[int] = []
    start = threading.Barrier(2)

    def courier(index: int) -> None:
        with app.app_context():
            start.wait()
            for _ in range(3):
                batch = [claim.row_id for claim in outbox.claim_due(schedule, limit=10)]
                sizes.append(len(batch))
                claimed[index] += batch
            db.session.remove()

    threads = [threading.Thread(target=courier, args=(index,)) for index in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert set(claimed[0]).isdisjoint(claimed[1])
    assert len(claimed[0]) + len(claimed[1]) == 30
    assert max(sizes) <= 10  # a claim racing another still takes at most its batch


def _due_mails(count: int) -> None:
    for number in range(count):
        outbox.write(
            outbox.Mail(template="mfa_enabled", to=f"{number}@example.com", context={"email": "x"})
        )
    db.session.commit()  # every first try fails
    db.session.execute(update(OutboxMail).values(next_attempt_at=OutboxMail.created_at))
    db.session.commit()


def test_a_claim_takes_at_most_its_batch_oldest_first(app_context, down_mailbox):
    _due_mails(400)  # enough rows for PostgreSQL to plan the claim as it does in service
    schedule = outbox.Schedule.from_config(current_app.config)

    batches = [[claim.row_id for claim in outbox.claim_due(schedule, limit=90)] for _ in range(5)]

    oldest = [row.id for row in _rows()]
    assert [len(batch) for batch in batches] == [90, 90, 90, 90, 40]
    assert [row_id for batch in batches for row_id in batch] == oldest


def test_claims_not_attempted_within_half_the_lease_are_given_back_uncounted(
    app_context, down_mailbox
):
    _due_mails(30)
    lease = timedelta(seconds=0.4)
    claims = leased_rows.claim_due(OutboxMail, lease=lease, limit=5)
    attempted: list[int] = []

    def slow_attempt(claim: leased_rows.Claim) -> None:
        attempted.append(claim.row_id)
        time.sleep(0.25)  # past half of the lease

    leased_rows.attempt_each(OutboxMail, claims, lease=lease, attempt=slow_attempt)

    given_back = [claim.row_id for claim in claims[1:]]
    again = [claim.row_id for claim in leased_rows.claim_due(OutboxMail, lease=lease, limit=30)]
    assert attempted == [claims[0].row_id]
    assert set(given_back) <= set(again)
    assert {row.id: row.attempts for row in _rows() if row.id in given_back} == dict.fromkeys(
        given_back, 2
    )  # the failed first try and this claim; the given-back one is not counted


def test_a_woken_courier_gathers_a_burst_into_one_round(app):
    rounds: list[float] = []
    courier = outbox.Courier(
        app,
        lambda: rounds.append(time.monotonic()),
        seconds_until_due=lambda _longest: 60.0,
        name="gathering",
        gather_seconds=0.3,
    )
    courier.start()
    try:
        assert courier.wait_for_a_round(5)  # the first round, at start
        before = len(rounds)
        for _ in range(3):
            courier.nudge()
        time.sleep(1.0)
    finally:
        courier.stop()

    assert len(rounds) == before + 1


def test_a_mail_is_given_up_on_after_the_retry_window(app, down_mailbox, frozen_clock):
    app.config["MAIL_RETRY_SECONDS"] = 3600
    install_mailer(app)
    with app.app_context():
        outbox.write(NOTICE)
        db.session.commit()
        frozen_clock.advance(3599)
        mailer().deliver_due()
        assert [(r.state, r.attempts) for r in _rows()] == [("pending", 2)]
        frozen_clock.advance(2)
        down_mailbox.start()
        mailer().deliver_due()

        assert [(r.state, r.context) for r in _rows()] == [("failed", {})]
    assert down_mailbox.to("ada@example.com") == []


def test_a_job_that_finds_nothing_to_send_is_dropped(app_context, mailbox):
    outbox.write_job("password_reset_request", email="nobody@example.com", origin={})
    db.session.commit()

    assert [(r.state, r.context) for r in _rows()] == [("dropped", {})]
    assert mailbox.messages == []


def test_an_unknown_job_is_refused_when_written(app_context):
    with pytest.raises(KeyError):
        outbox.write_job("no_such_job")


def test_the_background_courier_sends_after_the_commit_and_outlives_a_failed_round(
    app, mailbox, caplog
):
    app.config["MAIL_SEND_IN_BACKGROUND"] = True
    install_mailer(app)
    with app.app_context():
        try:
            outbox.write(outbox.Mail(template="no_such_template", to="x@example.com", context={}))
            outbox.write(NOTICE)
            db.session.commit()
            mailbox.wait_for("ada@example.com", SUBJECT)
            assert mailer().flush(timeout=5)
            rows = {row.recipient: row for row in _rows()}
        finally:
            mailer().stop()

    assert rows["ada@example.com"].state == "sent"
    assert (rows["x@example.com"].state, rows["x@example.com"].last_error) == (
        "pending",
        "TemplateNotFound",
    )
    assert [(r.message, r.levelname) for r in caplog.records if r.name == "app"] == [
        ("Mail not sent yet", "ERROR")
    ]


def test_purge_deletes_mail_finished_a_week_ago_and_keeps_what_is_pending(
    app_context, down_mailbox, frozen_clock
):
    outbox.write(NOTICE)
    db.session.commit()  # pending: the server is down
    down_mailbox.start()
    outbox.write(outbox.Mail(template="mfa_enabled", to="bob@example.com", context={"email": "b"}))
    db.session.commit()  # sent; the pending one is not due yet
    frozen_clock.advance(7 * 24 * 3600 + 1)

    assert outbox.purge_finished() == 1
    assert [(row.recipient, row.state) for row in _rows()] == [("ada@example.com", "pending")]
