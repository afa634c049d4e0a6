"""Mail is never lost: through gunicorn, with the SMTP server down and every worker killed
with SIGKILL after the mail was asked for, each mail still arrives once the server answers,
exactly once, from the workers gunicorn started in their place."""

import os
import signal
import time
from collections import Counter

import pytest

from tests.e2e import http
from tests.mailbox import Mailbox
from tests.mailbox import token_in
from tests.processes import wait_for_new_workers
from tests.processes import worker_pids

pytestmark = pytest.mark.e2e
PASSWORD = "outbox Passphrase 52"
READERS = [f"reader{number}@example.com" for number in range(4)]


def test_mail_outlives_a_down_mail_server_and_killed_workers_and_is_sent_once(start_server):
    box = Mailbox()  # not listening yet: every first attempt is refused
    server = start_server(MAIL_URL=box.url, MAIL_TIMEOUT="2", MAIL_BACKOFF_MAX_SECONDS="1",
                          MAIL_POLL_SECONDS="0.5", WEB_CONCURRENCY="2")  # fmt: skip
    api = f"{server.url}/api/v1/auth"
    try:
        for email in READERS:
            registered = http.post(f"{api}/register", json={"email": email, "password": PASSWORD})
            assert registered.status_code == 201
        forgot = http.post(f"{api}/forgot-password", json={"email": READERS[0]})
        assert forgot.status_code == 202
        time.sleep(1.5)  # tried and refused, at least once each

        master = server.process.pid
        killed = worker_pids(master)
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        wait_for_new_workers(master, killed)
        box.start()

        for email in READERS:
            box.wait_for(email, "Verify your email address", timeout=60)
        reset = box.wait_for(READERS[0], "Reset your password", timeout=60)
        time.sleep(3)  # any second copy would have come by now
    finally:
        box.stop()

    assert len(box.messages) == len(READERS) + 1
    assert set(Counter(m["Message-ID"] for m in box.messages).values()) == {1}
    assert "Mail not sent yet" in server.logs()
    assert token_in(reset) not in server.logs()
    new_password = {"token": token_in(reset), "password": "renewed Passphrase 53"}
    changed = http.post(f"{api}/reset-password", json=new_password)
    assert changed.status_code == 200
