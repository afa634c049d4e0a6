"""Running the service's own entry points in child processes, as an operator would."""

import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run_flask(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """Run ``flask --app wsgi ARGS`` in the project root with ``env``."""
    return subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", *args],
        cwd=ROOT,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def worker_pids(master: int) -> set[int]:
    """The pids of a gunicorn master's workers (Linux: the master's child processes)."""
    with open(f"/proc/{master}/task/{master}/children") as listing:
        return {int(pid) for pid in listing.read().split()}


def wait_for_new_workers(master: int, before: set[int], timeout: float = 60) -> float:
    """Wait until the master serves with workers none of which is in ``before`` (a reload
    replaced them, or it restarted killed ones); when that was, by time.monotonic()."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        workers = worker_pids(master)
        if workers and workers.isdisjoint(before):
            return time.monotonic()
        time.sleep(0.05)
    raise AssertionError(f"gunicorn's master {master} did not replace its workers {before}")
