"""Reloading gunicorn masters (``kill -HUP``) while wrk loads the service: what wrk measured,
and whether every master's new workers took over before the load stopped."""

import os
import signal
import threading
import time
from dataclasses import dataclass

from bench.load import Load
from bench.load import Measurement
from bench.load import Scenario
from bench.load import ensure_wrk
from bench.load import run
from tests.processes import wait_for_new_workers
from tests.processes import worker_pids

RELOAD_AFTER_SECONDS = 2


@dataclass(frozen=True)
class ReloadUnderLoad:
    measured: Measurement
    # When each master's old workers were all gone, and when wrk stopped (time.monotonic).
    swapped_at: list[float]
    stopped_at: float

    def swapped_under_load(self, masters: int) -> bool:
        return len(self.swapped_at) == masters and max(self.swapped_at) < self.stopped_at


def reload(master: int) -> float:
    """HUP ``master`` and wait for its new workers; when they had taken over."""
    before = worker_pids(master)
    os.kill(master, signal.SIGHUP)
    return wait_for_new_workers(master, before)


def reload_under_load(url: str, masters: list[int], *, load_seconds: float) -> ReloadUnderLoad:
    """wrk on ``url``/healthz for ``load_seconds``; RELOAD_AFTER_SECONDS in, each master is
    reloaded in turn, the next once the one before has swapped its workers."""
    wrk = ensure_wrk()
    swapped: list[float] = []

    def reload_each() -> None:
        time.sleep(RELOAD_AFTER_SECONDS)
        for master in masters:
            swapped.append(reload(master))

    reloading = threading.Thread(target=reload_each)
    reloading.start()
    measured = run(
        wrk,
        url,
        Scenario("reload", "GET /healthz", "plain.lua"),
        Load(threads=2, connections=8, seconds=load_seconds),
    )
    stopped = time.monotonic()
    reloading.join()
    return ReloadUnderLoad(measured=measured, swapped_at=swapped, stopped_at=stopped)
