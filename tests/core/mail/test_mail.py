"""MAIL_URL names the mail backend; a console backend never reaches production."""

import logging
from datetime import UTC
from datetime import datetime
from uuid import uuid4

import pytest

from app import create_app
from app.core.mail.mail import ConsoleBackend
from app.core.mail.mail import DisabledBackend
from app.core.mail.mail import MailConfigurationError
from app.core.mail.mail import Message
from app.core.mail.mail import SmtpBackend
from app.core.mail.mail import backend_from_url
from tests.mailbox import Mailbox
from tests.mailbox import html_of
from tests.mailbox import text_of
from tests.signing import TEST_MFA_KEY
from tests.signing import TEST_SECRET

LOGGER = logging.getLogger("test")


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "smtp://mailer%40example.com:p%40ss@smtp.example.com:587?starttls=true",
            SmtpBackend("smtp.example.com", 587, "mailer@example.com", "p@ss", False, True, 10),
        ),
        (
            "smtps://mailer:secret@smtp.example.com",
            SmtpBackend("smtp.example.com", 465, "mailer", "secret", True, False, 10),
        ),
        ("smtp://127.0.0.1:2525", SmtpBackend("127.0.0.1", 2525, None, None, False, False, 10)),
    ],
)
def test_an_smtp_url_gives_host_port_credentials_and_tls_mode(url, expected):
    assert backend_from_url(url, timeout=10, logger=LOGGER) == expected


def test_console_and_empty_urls_log_instead_of_sending():
    assert isinstance(backend_from_url("console://", timeout=10, logger=LOGGER), ConsoleBackend)
    assert isinstance(backend_from_url("", timeout=10, logger=LOGGER), DisabledBackend)


@pytest.mark.parametrize("url", ["http://mail.example.com", "smtp://", "mailto:a@b.c"])
def test_any_other_mail_url_is_refused(url):
    with pytest.raises(MailConfigurationError):
        backend_from_url(url, timeout=10, logger=LOGGER)


def test_production_refuses_the_console_backend(tmp_path):
    overrides = {
        "JWT_SECRET_KEY": TEST_SECRET,
        "AUTH_MFA_ENCRYPTION_KEY": TEST_MFA_KEY,
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'mail.db'}",
        "MAIL_URL": "console://",
        "RATELIMIT_STORAGE_URI": "memory://",
        "AUTH_FRONTEND_URL": "https://app.example.com",
    }

    with pytest.raises(MailConfigurationError, match="production log"):
        create_app("production", overrides)


def test_a_mail_has_a_date_one_message_id_on_every_attempt_and_a_text_and_html_part():
    """RFC 5322 3.6.1 and 3.6.4: the origination date and a unique id, fixed when the mail is
    written, so a retried delivery is recognisable as the same mail."""
    mailbox = Mailbox().start()
    try:
        backend = backend_from_url(mailbox.url, timeout=5, logger=LOGGER)
        message = _message()
        backend.deliver(message, "Auth Service <auth@mail.example.com>")
        backend.deliver(message, "Auth Service <auth@mail.example.com>")
        first, retried = mailbox.to("ada@example.com")
    finally:
        mailbox.stop()

    assert first["Message-ID"] == retried["Message-ID"]
    assert first["Message-ID"].endswith("@mail.example.com>")
    assert first["Date"].datetime == message.written_at.replace(microsecond=0)
    assert text_of(first).strip() == "a link"
    assert "<p>a link</p>" in html_of(first)


def _message() -> Message:
    return Message(
        to="ada@example.com",
        subject="Reset",
        text="a link",
        html="<p>a link</p>",
        written_at=datetime.now(UTC),
        message_id=uuid4().hex,
    )
