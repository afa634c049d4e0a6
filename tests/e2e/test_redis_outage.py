"""Redis down under a running service of two hosts: readiness is about the host, not about a
shared dependency, so no load balancer drains every host at once; the budgets hold per process
meanwhile (with a warning) and are shared again by themselves once Redis answers. A real
redis-server of the test's own is stopped and started on the same port."""

import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis

from tests.e2e import http
from tests.ports import free_port

pytestmark = pytest.mark.e2e

PASSWORD = "outage Passphrase 32"
WRONG = "not the passphrase"
ACCOUNT_FAILURES = 4
RECOVERY_SECONDS = 40


@dataclass
class RedisServer:
    """A redis-server on a port of its own, stopped and started as an outage would."""

    port: int
    directory: Path
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            "redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "no", "--dir", str(self.directory),
        ]  # fmt: skip
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=0.5).ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise AssertionError("redis-server did not answer in 10 s")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=10)
            self.process = None

    def keys(self, prefix: str) -> list[bytes]:
        return list(redis.Redis(port=self.port).scan_iter(f"*{prefix}*"))


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed (apt-get install redis-server)", pytrace=False)
    server = RedisServer(port=free_port(), directory=tmp_path)
    try:
        yield server
    finally:
        server.stop()


def _settings(own_redis: RedisServer) -> dict[str, str]:
    return {
        "RATELIMIT_STORAGE_URI": own_redis.url,
        "RATELIMIT_KEY_PREFIX": f"outage-{uuid.uuid4().hex[:8]}",
        "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT": f"{ACCOUNT_FAILURES} per minute",
        "AUTH_RATELIMIT_STORAGE_RETRY_SECONDS": "1",
    }


def _log_in(server, password: str) -> int:
    body = {"username": "patient", "password": password}
    return http.post(f"{server.url}/api/token/", json=body).status_code


def test_the_service_starts_migrates_and_serves_while_redis_is_down(start_server, own_redis):
    server = start_server(**_settings(own_redis))
    server.create_user("patient", password=PASSWORD, roles=("user",))

    migrated = server.flask("db", "upgrade")
    ready = http.get(f"{server.url}/readyz")

    assert migrated.returncode == 0, migrated.stderr
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "migrations": "ok", "redis": "degraded"},
    }
    assert _log_in(server, PASSWORD) == 200
    assert "budgets are per process" in server.logs()


def test_two_hosts_stay_ready_through_a_redis_outage_and_share_budgets_again_after_it(
    start_server, own_redis
):
    own_redis.start()
    settings = _settings(own_redis)
    hosts = [start_server(**settings) for _ in range(2)]
    hosts[0].create_user("patient", password=PASSWORD, roles=("user",))
    assert all(http.get(f"{host.url}/readyz").json()["checks"]["redis"] == "ok" for host in hosts)

    own_redis.stop()
    during = [http.get(f"{host.url}/readyz") for host in hosts]
    logins_during = [_log_in(host, PASSWORD) for host in hosts]

    assert [response.status_code for response in during] == [200, 200]
    assert [response.json()["checks"]["redis"] for response in during] == ["degraded"] * 2
    assert logins_during == [200, 200]

    own_redis.start()
    deadline = time.monotonic() + RECOVERY_SECONDS
    while time.monotonic() < deadline:
        states = [http.get(f"{host.url}/readyz").json()["checks"]["redis"] for host in hosts]
        if states == ["ok", "ok"] and _log_in(hosts[0], PASSWORD) == 200:
            break
        time.sleep(0.5)
    time.sleep(2)  # every worker's budgets retry the shared storage after 1 s

    def guess(n: int) -> int:
        return _log_in(hosts[n % 2], WRONG)

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = sorted(pool.map(guess, range(2 * ACCOUNT_FAILURES)))

    # Shared again: one budget of four failures for the account across both hosts and all
    # four workers, where per-process budgets would have allowed four on each worker.
    assert statuses == [401] * ACCOUNT_FAILURES + [429] * ACCOUNT_FAILURES
    # The restarted Redis kept nothing: the budget it now holds was counted there.
    held = own_redis.keys(settings["RATELIMIT_KEY_PREFIX"])
    assert any(b"/account-failures/" in key for key in held)
