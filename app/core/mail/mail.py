"""Outgoing mail: plain-text messages, each with its Date and Message-ID, through the backend
``MAIL_URL`` names.

- ``smtp://user:password@host:port`` (``?starttls=true`` to upgrade the connection) and
  ``smtps://...`` (TLS from the first byte) send through an SMTP server;
- ``console://`` writes the message to the log, for development (refused in production:
  the messages carry live tokens);
- empty (the production default until configured) sends nothing and logs that it did not.

Messages leave from a background thread in each worker process, so a request never waits
for the mail server, and an answer that mails (forgot-password) takes the same time whether
or not it did. ``MAIL_SEND_IN_BACKGROUND=false`` (testing) sends inline.
"""

import atexit
import logging
import queue
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime
from email.utils import parseaddr
from typing import Protocol
from typing import cast
from urllib.parse import parse_qs
from urllib.parse import unquote
from urllib.parse import urlparse
from uuid import uuid4

from flask import Flask
from flask import Response
from flask import after_this_request
from flask import current_app
from flask import has_request_context

from app.core import clock
from app.core.configuration import ConfigurationError
from app.core.metrics import MAIL_FAILURES
from app.core.metrics import MAIL_QUEUE_DEPTH
from app.core.process_queue import ProcessQueue

_EXTENSION_KEY = "authsvc.mail"
SEND_ATTEMPTS = 3


class MailConfigurationError(ConfigurationError):
    pass


@dataclass(frozen=True)
class Message:
    to: str
    subject: str
    body: str
    # Fixed when the message is written, so every delivery attempt of it carries the same
    # Date and Message-ID (RFC 5322 3.6.1, 3.6.4) and a retry is recognisable as one mail.
    written_at: datetime = field(default_factory=clock.utcnow)
    message_id: str = field(default_factory=lambda: uuid4().hex)

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
        email.set_content(message.body)
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
            extra={"fields": {"to": message.to, "subject": message.subject, "body": message.body}},
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


Job = Callable[[], "Message | None"]


class Mailer:
    """Sends each message through the backend, from a background thread unless told not to.

    A job (``send_later``) is work that decides whether there is a message at all, run on the
    same thread in an app context, off the request path: a request that queues one does the
    same work whichever way the job turns out."""

    def __init__(self, app: Flask, backend: Backend) -> None:
        self._app = app
        self._backend = backend
        self._sender = app.config["MAIL_FROM"]
        self._in_background = app.config["MAIL_SEND_IN_BACKGROUND"]
        self._outbox: ProcessQueue[Message | Job] = ProcessQueue("mail-sender", self._run)

    def send(self, message: Message) -> None:
        if not self._in_background:
            self._deliver(message)
            return
        self._queue(message)

    def send_later(self, job: Job) -> None:
        """Run ``job`` and send the message it returns, if any, off the request path."""
        if not self._in_background:
            message = job()
            if message is not None:
                self.send(message)
            return
        if not has_request_context():
            self._queue(job)
            return

        # Queued once the answer has been sent, so the job's work never delays it.
        @after_this_request
        def queue_after_the_answer(response: Response) -> Response:
            response.call_on_close(lambda: self._queue(job))
            return response

    def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued message is sent or given up on; False on timeout."""
        return self._outbox.wait_until_done(timeout)

    def _queue(self, item: "Message | Job") -> None:
        MAIL_QUEUE_DEPTH.inc()
        self._outbox.put(item)

    def _run(self, outbox: "queue.Queue[Message | Job]") -> None:
        while True:
            item = outbox.get()
            try:
                message = self._run_job(item) if callable(item) else item
                if message is not None:
                    self._deliver(message)
            finally:
                MAIL_QUEUE_DEPTH.dec()
                outbox.task_done()

    def _run_job(self, job: Job) -> "Message | None":
        try:
            with self._app.app_context():
                return job()
        except Exception as error:  # the thread must outlive a failed job (a database outage)
            MAIL_FAILURES.labels("job").inc()
            self._app.logger.error(
                "Mail job failed", extra={"fields": {"error": type(error).__name__}}
            )
            return None

    def _deliver(self, message: Message) -> None:
        for attempt in range(SEND_ATTEMPTS):
            try:
                self._backend.deliver(message, self._sender)
                return
            except (OSError, smtplib.SMTPException) as error:
                MAIL_FAILURES.labels("attempt").inc()
                self._app.logger.warning(
                    "Mail not sent yet",
                    extra={"fields": {"subject": message.subject, "error": type(error).__name__}},
                )
                if self._in_background:
                    time.sleep(attempt + 1)
        MAIL_FAILURES.labels("given_up").inc()
        self._app.logger.error("Mail given up on", extra={"fields": {"subject": message.subject}})


def install_mailer(app: Flask) -> None:
    url = app.config["MAIL_URL"]
    if url.startswith("console:") and app.config["APP_ENV"] == "production":
        raise MailConfigurationError(
            "MAIL_URL=console:// would write live reset and verification tokens to the "
            "production log; set an smtp:// or smtps:// URL"
        )
    backend = backend_from_url(url, timeout=app.config["MAIL_TIMEOUT"], logger=app.logger)
    mailer = Mailer(app, backend)
    app.extensions[_EXTENSION_KEY] = mailer
    if app.config["MAIL_SEND_IN_BACKGROUND"]:
        atexit.register(mailer.flush)


def mailer() -> Mailer:
    return cast(Mailer, current_app.extensions[_EXTENSION_KEY])
