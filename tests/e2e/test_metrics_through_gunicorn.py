"""Metrics through gunicorn: the master serves, on METRICS_PORT only, the sum of what every
worker counted, with labels that name no user, address or raw path."""

import uuid

import pytest
import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e import http
from tests.ports import free_port

pytestmark = pytest.mark.e2e
PASSWORD = "metrics Passphrase 42"
EMAIL = "watched@example.com"


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _login(url: str, password: str) -> int:
    # A new connection each time, so the kernel spreads the logins over both workers.
    with requests.Session() as session:
        answer = session.post(
            f"{url}/api/v1/auth/login", json={"email": EMAIL, "password": password}, timeout=30
        )
    return answer.status_code


def test_the_master_serves_every_workers_counts_on_its_own_port(start_server, redis_url, tmp_path):
    metrics_port = free_port()
    directory = tmp_path / "metrics"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left by an earlier run")
    server = start_server(
        METRICS_PORT=str(metrics_port),
        PROMETHEUS_MULTIPROC_DIR=str(directory),
        AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP="2/minute",
        RATELIMIT_STORAGE_URI=redis_url,  # one budget for both workers
        RATELIMIT_KEY_PREFIX=f"test-{uuid.uuid4().hex}",
    )
    server.create_user("watched", password=PASSWORD)

    successes = [_login(server.url, PASSWORD) for _ in range(12)]
    failures = [_login(server.url, "not the passphrase") for _ in range(3)]
    unmatched = http.get(f"{server.url}/api/v1/users/{EMAIL}/nothing")
    public = http.get(f"{server.url}/metrics")
    scraped = http.get(f"http://127.0.0.1:{metrics_port}/metrics")

    assert successes == [200] * 12 and failures == [400, 400, 429]
    assert unmatched.status_code == 404
    assert public.status_code == 404 and public.headers["Content-Type"].startswith(
        "application/json"
    )
    samples = _samples(scraped.text)
    login = frozenset({("event", "login"), ("outcome", "success")})
    assert samples[("authsvc_auth_events_total", login)] == 12
    refused = frozenset({("budget", "account-ip-failures")})
    assert samples[("authsvc_budget_refusals_total", refused)] == 1
    timed = frozenset(
        {("method", "POST"), ("route", "/api/v1/auth/login"), ("status_class", "2xx")}
    )
    assert samples[("authsvc_http_request_duration_seconds_count", timed)] == 12
    assert EMAIL not in scraped.text and "nothing" not in scraped.text
    workers = {path.stem.rsplit("_", 1)[1] for path in directory.glob("counter_*.db")}
    assert len(workers) == 2, "every worker counted into the directory, the stale file gone"
