"""Reloading gunicorn masters (``kill -HUP``) while wrk loads the service: what wrk measured,
and whether every master's new workers took over while the load ran."""

import os
import signal
import time
from dataclasses import dataclass

from bench.load import Load
from bench.load import Measurement
from bench.load import Scenario
from bench.load import ensure_wrk
from bench.load import finish
from bench.load import start
from tests.processes import wait_for_new_workers
from tests.processes import worker_pids

LOAD_BEFORE_SECONDS = 2
LOAD_AFTER_SECONDS = 3
# The load ends LOAD_AFTER_SECONDS after the last swap; this caps it if a reload hangs.
LOAD_CAP_SECONDS = 180
SCENARIO = Scenario("reload", "GET /healthz", "plain.lua")
# wrk's connections, kept alive. A worker that stops closes those it holds idle; a request
# written on one at that instant is cut (a read or write error), once per connection at
# most, as any HTTP/1.1 client may meet when a server closes an idle connection (RFC 9112
# 9.3.1: the client may retry an idempotent request; nginx does, so behind it none is lost:
# tests/e2e/test_behind_nginx.py). CI saw one such write error in about 40,000 requests.
CONNECTIONS = 8


@dataclass(frozen=True)
class ReloadUnderLoad:
    measured: Measurement
    # When each master's old workers were all gone (time.monotonic).
    swapped_at: list[float]
    # Whether wrk was still loading the service when the last master had swapped.
    loaded_throughout: bool

    def swapped_under_load(self, masters: int) -> bool:
        return len(self.swapped_at) == masters and self.loaded_throughout

    def lost_requests(self) -> bool:
        """Whether a request was refused, timed out or answered with an error, or more were
        cut than the kept-alive connections can meet their worker's close."""
        kinds = dict(self.measured.error_kinds)
        cut = kinds.pop("read_errors", 0) + kinds.pop("write_errors", 0)
        return bool(kinds) or cut > CONNECTIONS


def reload(master: int) -> float:
    """HUP ``master`` and wait for its new workers; when they had taken over."""
    before = worker_pids(master)
    os.kill(master, signal.SIGHUP)
    return wait_for_new_workers(master, before)


def reload_under_load(url: str, masters: list[int]) -> ReloadUnderLoad:
    """wrk on ``url``/healthz; LOAD_BEFORE_SECONDS in, each master is reloaded in turn, the
    next once the one before has swapped its workers, and the load goes on LOAD_AFTER_SECONDS
    after the last swap. How long a reload takes depends on the machine's load (6-15 s), so
    the load lasts as long as the reloads do."""
    wrk = start(ensure_wrk(), url, SCENARIO, Load(2, CONNECTIONS, LOAD_CAP_SECONDS))
    try:
        time.sleep(LOAD_BEFORE_SECONDS)
        swapped = [reload(master) for master in masters]
        loaded_throughout = wrk.poll() is None
        time.sleep(LOAD_AFTER_SECONDS)
    finally:
        measured = finish(wrk, SCENARIO, now=True)
    return ReloadUnderLoad(measured, swapped, loaded_throughout)
