"""Asking for a link reveals nothing by its timing: a known address and an unknown one are
answered in the same time, through gunicorn with the real database and mail server."""

import statistics
import time

import pytest
from sqlalchemy import text

from tests.e2e import http
from tests.e2e.conftest import LiveServer

# Timed comparisons run alone, after the parallel run (Makefile): a second test process
# sharing the two cores is noise of the size measured.
pytestmark = [pytest.mark.e2e, pytest.mark.timing]

PAIRS = 60
WARM_UP = 5
SETTLE_SECONDS = 10
KNOWN, UNKNOWN = "known@example.com", "nobody@example.com"
UNDONE_JOBS = text("SELECT count(*) FROM mail_outbox WHERE state = 'pending'")


def _seconds(server: LiveServer, url: str, email: str) -> float:
    """The time of one answer, once the courier has done every job written before it.

    What is compared is the work each request does before it answers, not this machine's two
    cores shared with the previous request's job (a lookup; for a known address also a token
    and a mail). A fixed pause let a slow job run into the next request: the unknown address,
    always asked second, was once measured 27% slower."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while server.read_value(UNDONE_JOBS):
        assert time.monotonic() < deadline, "the courier does every job"
        time.sleep(0.005)
    started = time.perf_counter()
    answer = http.post(url, json={"email": email})
    elapsed = time.perf_counter() - started
    assert answer.status_code == 202, answer.text
    return elapsed


@pytest.mark.parametrize("path", ["forgot-password", "resend-verification"])
def test_a_known_address_is_answered_as_fast_as_an_unknown_one(start_server, mailbox, path):
    """60 interleaved pairs; the medians within 25% of each other. Before the lookup, the
    token row and the mail moved off the request path, a known address took about twice
    as long (23 against 11 ms)."""
    # Every known request does the whole work (a token row and a mail): no mail interval.
    server = start_server(MAIL_URL=mailbox.url, AUTH_MAIL_INTERVAL_SECONDS="0",
                          AUTH_RATELIMIT_CREDENTIALS_PER_IP="1000 per minute")  # fmt: skip
    registered = http.post(f"{server.url}/api/v1/auth/register",
                           json={"email": KNOWN, "password": "timing Passphrase 40"})  # fmt: skip
    assert registered.status_code == 201
    url = f"{server.url}/api/v1/auth/{path}"
    for _ in range(WARM_UP):
        _seconds(server, url, KNOWN), _seconds(server, url, UNKNOWN)

    known, unknown = [], []
    for pair in range(PAIRS):
        # Either address asks first in half the pairs.
        for email in (KNOWN, UNKNOWN) if pair % 2 else (UNKNOWN, KNOWN):
            (known if email == KNOWN else unknown).append(_seconds(server, url, email))

    known_median, unknown_median = statistics.median(known), statistics.median(unknown)
    spread = abs(known_median - unknown_median) / min(known_median, unknown_median)
    assert spread <= 0.25, (
        f"known {known_median * 1000:.1f} ms, unknown {unknown_median * 1000:.1f} ms"
    )
    subject = "Reset your password" if path == "forgot-password" else "Verify your email address"
    deadline = time.monotonic() + 30
    while len([m for m in mailbox.to(KNOWN) if m["Subject"] == subject]) < PAIRS:
        assert time.monotonic() < deadline, "every known request sends its mail"
        time.sleep(0.1)
