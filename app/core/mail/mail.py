"""Outgoing mail: messages with a text and an HTML part, each with its Date and Message-ID,
through the backend ``MAIL_URL`` names.

- ``smtp://user:password@host:port`` (``?starttls=true`` to upgrade the connection) and
  ``smtps://...`` (TLS from the first byte) send through an SMTP server;
- ``console://`` writes the message to the log, for development (refused in production:
  the messages carry live tokens);
- empty (the production default until configured) sends nothing and logs that it did not.

Mail is written to the outbox (app/core/mail/outbox.py) in the transaction that causes it and
leaves from a courier thread in each worker process, so a request never waits for the mail
server, and no mail is lost to a killed worker or a mail server that is down a while.
``MAIL_SEND_IN_BACKGROUND=false`` (testing) delivers right after the commit instead.
"""

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from email.utils import parseaddr
from typing import Any
from typing import Protocol
from typing import cast
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlparse

from flask import Flask
from flask import current_app
from flask import has_app_context
from jinja2 import TemplateError
from sqlalchemy import event
from sqlalchemy.orm import Session

from app.core import leased_rows
from app.core.configuration import ConfigurationError
from app.core.leased_rows import Claim
from app.core.mail import outbox
from app.core.mail.templates import MailTemplates
from app.core.metrics import MAIL_FAILURES
from app.core.models import OutboxMail
from app.database import db

_EXTENSION_KEY = "authsvc.mail"


class MailConfigurationError(ConfigurationError):
    pass


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    text: str
    html: str
    # Fixed when the mail is written, so every delivery attempt of it carries the same Date
    # and Message-ID (RFC 5322 3.6.1, 3.6.4) and a retry is recognisable as one mail.
    written_at: datetime
    message_id: str

    def headers(self, sender: str) -> dict[str, str]:
        domain = parseaddr(sender)[1].rpartition("@")[2] or "localhost"
        return {
            "From": sender,
            "To": self.to,
            "Subject": self.subject,
            "Date": format_datetime(self.written_at),
            "Message-ID": f"<{self.message_id}@{domain}>",
        }


class Backend(Protocol):
    def deliver(self, message: Message, sender: str) -> None: ...


@dataclass(frozen=True)
class SmtpBackend:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool
    timeout: float

    def deliver(self, message: Message, sender: str) -> None:
        email = EmailMessage()
        for name, value in message.headers(sender).items():
            email[name] = value
        email.set_content(message.text)
        email.add_alternative(message.html, subtype="html")
        connection = self._connect()
        try:
            if self.starttls:
                connection.starttls(context=ssl.create_default_context())
            if self.username:
                connection.login(self.username, self.password or "")
            connection.send_message(email)
        finally:
            connection.quit()

    def _connect(self) -> smtplib.SMTP:
        if self.implicit_tls:
            return smtplib.SMTP_SSL(
                self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        return smtplib.SMTP(self.host, self.port, timeout=self.timeout)


class ConsoleBackend:
    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def deliver(self, message: Message, sender: str) -> None:
        self._logger.info(
            "Mail (console backend)",
            extra={"fields": {"to": message.to, "subject": message.subject, "body": message.text}},
        )


class DisabledBackend:
    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger

    def deliver(self, message: Message, sender: str) -> None:
        self._logger.warning(
            "Mail not sent: MAIL_URL is not set", extra={"fields": {"subject": message.subject}}
        )


def backend_from_url(url: str, *, timeout: float, logger: logging.Logger) -> Backend:
    if not url:
        return DisabledBackend(logger)
    parsed = urlparse(url)
    if parsed.scheme == "console":
        return ConsoleBackend(logger)
    if parsed.scheme not in {"smtp", "smtps"} or not parsed.hostname:
        raise MailConfigurationError(
            "MAIL_URL must be smtp://[user:password@]host[:port][?starttls=true], "
            "smtps://..., or console://"
        )
    options = parse_qs(parsed.query)
    implicit_tls = parsed.scheme == "smtps"
    return SmtpBackend(
        host=parsed.hostname,
        port=parsed.port or (465 if implicit_tls else 25),
        username=unquote(parsed.username) if parsed.username else None,
        password=unquote(parsed.password) if parsed.password else None,
        implicit_tls=implicit_tls,
        starttls=options.get("starttls", ["false"])[0].lower() in {"1", "true", "yes"},
        timeout=timeout,
    )


class Mailer:
    """Delivers the outbox's due mail through the backend: on the courier thread of each
    worker process, or inline after the commit that wrote it (``MAIL_SEND_IN_BACKGROUND``
    false)."""

    def __init__(self, app: Flask, backend: Backend, templates: MailTemplates) -> None:
        self._app = app
        self._backend = backend
        self._templates = templates
        self._sender = app.config["MAIL_FROM"]
        self._schedule = outbox.Schedule.from_config(app.config)
        self._courier = (
            outbox.Courier(app, self.deliver_due) if app.config["MAIL_SEND_IN_BACKGROUND"] else None
        )

    def use_backend(self, backend: Backend) -> None:
        """Send through ``backend`` from now on (the SEND_EMAIL auth hook)."""
        self._backend = backend

    def start(self) -> None:
        """Deliver from this process (a gunicorn worker once it has forked)."""
        if self._courier is not None:
            self._courier.start()

    def stop(self) -> None:
        if self._courier is not None:
            self._courier.stop()

    def mail_written(self) -> None:
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
        """Send every mail that is due, each claimed first. Needs an app context."""
        claims = outbox.claim_due(self._schedule)
        leased_rows.attempt_each(
            OutboxMail, claims, lease=self._schedule.lease, attempt=self._attempt
        )

    def _attempt(self, claim: Claim) -> None:
        try:
            sent = self._deliver(claim.row_id)
        except Exception as error:
            db.session.rollback()
            self._failed(claim.row_id, error)
            outbox.retry_later(claim, error=error, schedule=self._schedule)
        else:
            if sent:
                outbox.mark_sent(claim.row_id)

    def _deliver(self, mail_id: int) -> bool:
        """False: there was nothing to send (a job that found no one)."""
        prepared = outbox.prepare(mail_id)
        if prepared is None:
            return False
        message = self._message(prepared)
        db.session.commit()  # no transaction is held while the mail server answers
        self._backend.deliver(message, self._sender)
        return True

    def _message(self, row: Any) -> Message:
        words = self._templates.render(row.template, locale=row.locale, context=row.context)
        return Message(
            to=row.recipient,
            subject=words.subject,
            text=words.text,
            html=words.html,
            written_at=row.created_at,
            message_id=row.message_id,
        )

    def _failed(self, mail_id: int, error: Exception) -> None:
        reaching_the_server = isinstance(
            error, (OSError, smtplib.SMTPException)
        ) and not isinstance(error, TemplateError)  # jinja's TemplateNotFound is an OSError
        MAIL_FAILURES.labels("attempt" if reaching_the_server else "job").inc()
        self._app.logger.log(
            logging.WARNING if reaching_the_server else logging.ERROR,
            "Mail not sent yet",
            exc_info=None if reaching_the_server else error,
            extra={"fields": {"mail": mail_id, "error": type(error).__name__}},
        )


@event.listens_for(Session, "after_commit")
def _deliver_written_mail(session: Session) -> None:
    if outbox.wrote_mail(session) and has_app_context():
        mailer().mail_written()


CLASS_LISTENERS = ((Session, "after_commit", _deliver_written_mail),)


def install_mailer(app: Flask) -> None:
    url = app.config["MAIL_URL"]
    if url.startswith("console:") and app.config["APP_ENV"] == "production":
        raise MailConfigurationError(
            "MAIL_URL=console:// would write live reset and verification tokens to the "
            "production log; set an smtp:// or smtps:// URL"
        )
    backend = backend_from_url(url, timeout=app.config["MAIL_TIMEOUT"], logger=app.logger)
    templates = MailTemplates(app.config["MAIL_TEMPLATES_DIR"])
    templates.check()
    previous = app.extensions.get(_EXTENSION_KEY)
    if previous is not None:
        previous.stop()
    app.extensions[_EXTENSION_KEY] = Mailer(app, backend, templates)


def start_delivery(app: object) -> None:
    """Deliver mail from this process: a gunicorn worker, once forked (gunicorn.conf.py)."""
    if isinstance(app, Flask) and _EXTENSION_KEY in app.extensions:
        cast(Mailer, app.extensions[_EXTENSION_KEY]).start()


def mailer() -> Mailer:
    return installed_mailer(current_app)


def installed_mailer(app: Flask) -> Mailer:
    return cast(Mailer, app.extensions[_EXTENSION_KEY])
