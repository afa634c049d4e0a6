"""A reload (``kill -HUP`` of gunicorn's master, as a deploy of new code or configuration
does) under load answers every request: wrk counts no failed request, refused connection, reset or
timeout while the old workers finish and new ones take over. Production's default socket
layout is tested (gunicorn.conf.py: one shared socket, or a socket per worker where the
kernel migrates the connections queued at a closing one), and each layout on its own."""

import os
import shutil
import signal
import threading
import time
from pathlib import Path

import pytest

from app.sockets import kernel_migrates_queued_connections
from bench.load import Load
from bench.load import Measurement
from bench.load import Scenario
from bench.load import ensure_wrk
from bench.load import run
from tests.e2e import http
from tests.processes import wait_for_new_workers
from tests.processes import worker_pids

pytestmark = pytest.mark.e2e

# Long enough for a reload on a loaded machine (the new code is imported twice: in a child
# to check it, then in the master) to finish while wrk still runs.
LOAD_SECONDS = 14
RELOAD_AFTER_SECONDS = 2
ROOT = Path(__file__).resolve().parents[2]
HEALTHY = 'jsonify({"status": "ok"})'
NEXT_RELEASE = 'jsonify({"status": "ok", "release": "next"})'


def _deployed_copy(folder: Path) -> Path:
    """The service as a deploy lays it out: a folder that new code replaces in place."""
    folder.mkdir()
    shutil.copytree(ROOT / "app", folder / "app", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("wsgi.py", "config.py", "gunicorn.conf.py"):
        shutil.copy(ROOT / name, folder / name)
    return folder


def _replace_health_view(deployed: Path, old: str, new: str) -> None:
    view = deployed / "app" / "api" / "health.py"
    text = view.read_text()
    assert old in text
    view.write_text(text.replace(old, new))


def _reload_and_wait_for_new_workers(master: int) -> None:
    before = worker_pids(master)
    os.kill(master, signal.SIGHUP)
    wait_for_new_workers(master, before)


def _reload_under_load(server_url: str, master: int) -> tuple[Measurement, float, float]:
    """wrk for LOAD_SECONDS, with a reload RELOAD_AFTER_SECONDS in: what wrk measured, when
    the old workers were all gone, and when wrk stopped (time.monotonic)."""
    wrk = ensure_wrk()
    before = worker_pids(master)
    replaced: list[float] = []

    def reload() -> None:
        time.sleep(RELOAD_AFTER_SECONDS)
        os.kill(master, signal.SIGHUP)
        replaced.append(wait_for_new_workers(master, before))

    reloading = threading.Thread(target=reload)
    reloading.start()
    measured = run(
        wrk,
        server_url,
        Scenario("reload", "GET /healthz", "plain.lua"),
        Load(threads=2, connections=8, seconds=LOAD_SECONDS),
    )
    stopped = time.monotonic()
    reloading.join()
    return measured, replaced[0], stopped


@pytest.mark.parametrize(
    "sockets", [{}, {"GUNICORN_REUSE_PORT": "0"}, {"GUNICORN_REUSE_PORT": "1"}],
    ids=["production-default", "one-shared-socket", "a-socket-per-worker"],
)  # fmt: skip
def test_a_reload_under_load_fails_no_request(start_server, sockets):
    if sockets.get("GUNICORN_REUSE_PORT") == "1" and not kernel_migrates_queued_connections():
        pytest.skip(
            "a socket per worker loses queued connections on reload unless the kernel migrates "
            "them: sysctl -w net.ipv4.tcp_migrate_req=1 (.ci/run sets it)"
        )
    server = start_server(**sockets)
    assert server.process is not None

    measured, replaced_at, stopped_at = _reload_under_load(server.url, server.process.pid)

    assert measured.requests > 1000
    assert measured.errors == 0, measured
    assert replaced_at < stopped_at, "the new workers took over after the load had stopped"


def test_a_reload_under_load_serves_the_new_code_and_fails_no_request(start_server, tmp_path):
    deployed = _deployed_copy(tmp_path / "service")
    server = start_server(TEST_GUNICORN_CWD=str(deployed))
    assert server.process is not None
    _replace_health_view(deployed, HEALTHY, NEXT_RELEASE)

    measured, replaced_at, stopped_at = _reload_under_load(server.url, server.process.pid)

    assert measured.requests > 1000
    assert measured.errors == 0, measured
    assert replaced_at < stopped_at, "the new workers took over after the load had stopped"
    assert http.get(f"{server.url}/healthz").json() == {"status": "ok", "release": "next"}


def test_a_reload_with_code_that_does_not_start_keeps_the_running_code(start_server, tmp_path):
    deployed = _deployed_copy(tmp_path / "service")
    server = start_server(TEST_GUNICORN_CWD=str(deployed))
    assert server.process is not None
    master = server.process.pid
    _replace_health_view(deployed, HEALTHY, "jsonify({'status': 'ok'}")  # a SyntaxError

    _reload_and_wait_for_new_workers(master)

    assert http.get(f"{server.url}/healthz").json() == {"status": "ok"}
    assert "Reload kept the running code: the new code does not start: SyntaxError" in (
        server.logs()
    )
    _replace_health_view(deployed, "jsonify({'status': 'ok'}", NEXT_RELEASE)
    _reload_and_wait_for_new_workers(master)
    assert http.get(f"{server.url}/healthz").json() == {"status": "ok", "release": "next"}
    assert server.process.poll() is None
