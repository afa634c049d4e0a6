"""Webhooks through gunicorn: every event arrives, signed, exactly as many as the changes that
caused them, whether the receiver answers 500, hangs, is down, or the workers are killed with
SIGKILL between the change and the delivery."""

import json
import os
import signal
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.e2e import http
from tests.processes import wait_for_new_workers
from tests.processes import worker_pids
from tests.webhook_receiver import Receiver

pytestmark = pytest.mark.e2e
PASSWORD = "webhook Passphrase 61"
SETTINGS = {
    "AUTH_WEBHOOK_ALLOW_PRIVATE": "true",
    "AUTH_WEBHOOK_TIMEOUT_SECONDS": "1",
    "AUTH_WEBHOOK_BACKOFF_MAX_SECONDS": "1",
    "MAIL_POLL_SECONDS": "0.5",
    "WEB_CONCURRENCY": "2",
}


def _subscribe(server, receiver: Receiver) -> str:
    added = server.flask("webhooks", "add", receiver.url, "--event", "*")
    assert added.returncode == 0, added.stderr
    return json.loads(added.stdout)["secret"]


def _register(api: str, email: str) -> int:
    return http.post(f"{api}/register", json={"email": email, "password": PASSWORD}).status_code


def test_thirty_parallel_registrations_send_thirty_signed_user_created(start_server):
    """Thirty events, thirty deliveries, one id each. The timeout is generous: with the
    suite's 1 s, a receiver slowed past it by a busy machine was (rightly) sent a retry under
    the same webhook-id, which this test would count as a 31st."""
    receiver = Receiver().start()
    server = start_server(**SETTINGS | {"AUTH_WEBHOOK_TIMEOUT_SECONDS": "10"})
    secret = _subscribe(server, receiver)
    api = f"{server.url}/api/v1/auth"
    emails = [f"crowd{number}@example.com" for number in range(30)]
    try:
        with ThreadPoolExecutor(30) as pool:
            statuses = list(pool.map(lambda email: _register(api, email), emails))
        receiver.wait_for("user.created", count=30, timeout=60)
        time.sleep(2)  # a 31st would have come by now
    finally:
        receiver.stop()

    assert statuses == [201] * 30
    every = receiver.of_type("user.created")
    by_id = {item.headers["webhook-id"]: item for item in every}
    assert (len(every), len(by_id)) == (30, 30)
    payloads = [item.verified_with(secret) for item in by_id.values()]
    assert sorted(p["data"]["user"]["email"] for p in payloads) == sorted(emails)


def test_events_outlive_a_failing_hanging_and_down_receiver_and_killed_workers(start_server):
    receiver = Receiver().start()
    receiver.status = 500
    server = start_server(**SETTINGS)
    secret = _subscribe(server, receiver)
    api = f"{server.url}/api/v1/auth"
    try:
        assert _register(api, "answered500@example.com") == 201
        receiver.wait_for("user.created", timeout=30)
        receiver.status, receiver.hang_seconds = 200, 3  # answers too late: a timeout
        assert _register(api, "hung@example.com") == 201
        time.sleep(1.5)
        receiver.stop()
        receiver.hang_seconds = 0
        assert _register(api, "down@example.com") == 201

        master = server.process.pid
        killed = worker_pids(master)
        for pid in killed:
            os.kill(pid, signal.SIGKILL)
        wait_for_new_workers(master, killed)
        receiver.start()

        wanted = {"answered500@example.com", "hung@example.com", "down@example.com"}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not wanted <= _delivered(receiver, secret):
            time.sleep(0.2)
    finally:
        receiver.stop()

    assert wanted <= _delivered(receiver, secret)
    assert "Webhook not delivered yet" in server.logs()
    by_email: dict[str, set[str]] = {}
    for item in receiver.of_type("user.created"):
        email = item.payload["data"]["user"]["email"]
        by_email.setdefault(email, set()).add(item.headers["webhook-id"])
    assert all(len(ids) == 1 for ids in by_email.values())  # retries carry the same id


def _delivered(receiver: Receiver, secret: str) -> set[str]:
    """The addresses whose user.created came with a 200 answer and a valid signature."""
    return {
        item.verified_with(secret)["data"]["user"]["email"]
        for item in receiver.of_type("user.created")
        if item.answered == 200
    }
