"""MAIL_URL names the mail backend; a console backend never reaches production."""

import logging

import pytest

from app import create_app
from app.core.mail import ConsoleBackend
from app.core.mail import DisabledBackend
from app.core.mail import MailConfigurationError
from app.core.mail import SmtpBackend
from app.core.mail import backend_from_url
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
        "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'mail.db'}",
        "MAIL_URL": "console://",
        "RATELIMIT_STORAGE_URI": "memory://",
    }

    with pytest.raises(MailConfigurationError, match="production log"):
        create_app("production", overrides)
