"""A reload (``kill -HUP`` of gunicorn's master, as a deploy of new configuration does) under
load answers every request: wrk counts no failed request, refused connection, reset or
timeout while the old workers finish and new ones take over. Production's default socket
layout is tested (gunicorn.conf.py: one shared socket, or a socket per worker where the
kernel migrates the connections queued at a closing one), and each layout on its own."""

import os
import signal
import threading
import time

import pytest

from app.sockets import kernel_migrates_queued_connections
from bench.load import Load
from bench.load import Scenario
from bench.load import ensure_wrk
from bench.load import run

pytestmark = pytest.mark.e2e

LOAD_SECONDS = 8
RELOAD_AFTER_SECONDS = 3


def _worker_pids(master: int) -> set[int]:
    with open(f"/proc/{master}/task/{master}/children") as listing:
        return {int(pid) for pid in listing.read().split()}


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
    wrk = ensure_wrk()
    server = start_server(**sockets)
    assert server.process is not None
    master = server.process.pid
    workers_before = _worker_pids(master)
    reload = threading.Timer(RELOAD_AFTER_SECONDS, lambda: os.kill(master, signal.SIGHUP))

    reload.start()
    measured = run(
        wrk,
        server.url,
        Scenario("reload", "GET /healthz", "plain.lua"),
        Load(threads=2, connections=8, seconds=LOAD_SECONDS),
    )
    reload.join()
    time.sleep(1)

    assert measured.requests > 1000
    assert measured.errors == 0, measured
    assert _worker_pids(master).isdisjoint(workers_before), "the workers were not replaced"
