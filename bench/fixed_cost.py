"""Where `/healthz`'s fixed cost goes under gunicorn: the service against bare Flask.

    python -m bench.fixed_cost [--rounds N] [--seconds S] [--profile-seconds S]

Both are served with the project's gunicorn.conf.py (2 workers x 4 threads, SO_REUSEPORT) on
SQLite, and loaded in alternating rounds with wrk. For each round the CPU time of every
process of each server (master and workers, user and system, from /proc/<pid>/stat) is
divided by the requests served: the machine time one request costs, free of the load
generator's share and of the rate's noise. Then py-spy samples one worker of each server under
the same load, and each sample is put into one of a few parts by the frames of its stack
(gunicorn's request handling, Flask and werkzeug, the service's hooks, logging, ...), so the
difference between the two servers is accounted part by part.
"""

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bench import load
from bench import servers

CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
SCENARIO = load.Scenario("healthz", "GET /healthz", "plain.lua")
LOAD = load.Load(threads=2, connections=16, seconds=5)
# A py-spy sample is charged to the first part whose pattern is in any frame of its stack, so
# a part is inclusive of what it calls (the app's hooks include the JSON they encode). py-spy
# names a frame "function (path:line)", the path relative to its sys.path entry.
PARTS = (
    ("gunicorn's access log line", "gunicorn/glogging.py"),
    ("the service's JSON log lines", " (app/logs.py"),
    ("Flask-Limiter's hooks", "flask_limiter/"),
    ("Flask-CORS", "flask_cors/"),
    ("the service's hooks and view", " (app/"),
    ("bare Flask's view", " (bench/reference/"),
    ("Flask and werkzeug: contexts, routing, request and response", "flask/app.py"),
    ("gunicorn: accept, parse, hand-offs between threads, write", "gunicorn/"),
)
SERVER_REST = "the rest (threads, selectors, sockets outside gunicorn's frames)"


@dataclass(frozen=True)
class Round:
    requests: int
    cpu_us_per_request: float


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--profile-seconds", type=float, default=10)
    arguments = parser.parse_args()
    wrk = load.ensure_wrk()
    amount = load.Load(LOAD.threads, LOAD.connections, arguments.seconds)
    with tempfile.TemporaryDirectory() as work:
        directory = Path(work)
        with servers.new_database("sqlite", directory, None) as database_url:
            env = servers.service_env(database_url, None)
            servers.migrate(env)
            with (
                servers.gunicorn(env, directory / "service.log") as service,
                servers.gunicorn(
                    env, directory / "bare.log", target="bench.reference.bare:app"
                ) as bare,
            ):
                stands = {"service": service, "bare Flask": bare}
                rounds: dict[str, list[Round]] = {name: [] for name in stands}
                for _ in range(arguments.rounds):
                    for name, server in stands.items():
                        rounds[name].append(_measured_round(wrk, server, amount))
                _print_cpu(rounds)
                py_spy = _py_spy()
                if py_spy is None:
                    print("py-spy is not installed (requirements-dev.txt has it): no profile")
                    return 0
                profiles = {
                    name: _profile(py_spy, wrk, server, arguments.profile_seconds, directory / name)
                    for name, server in stands.items()
                }
                _print_profiles(profiles, rounds)
    return 0


def _measured_round(wrk: str, server: servers.Server, amount: load.Load) -> Round:
    pids = [server.process.pid, *server.worker_pids()]
    before = sum(_cpu_ticks(pid) for pid in pids)
    measured = load.run(wrk, server.url, SCENARIO, amount)
    spent = sum(_cpu_ticks(pid) for pid in pids) - before
    return Round(measured.requests, spent / CLOCK_TICKS * 1e6 / measured.requests)


def _cpu_ticks(pid: int) -> int:
    # Fields after the command name (which may hold spaces): utime and stime are 14 and 15.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])


def _print_cpu(rounds: dict[str, list[Round]]) -> None:
    print("CPU per request (master and workers, user + system), median of rounds:")
    for name, measured in rounds.items():
        cost = statistics.median(r.cpu_us_per_request for r in measured)
        spread = ", ".join(f"{r.cpu_us_per_request:.0f}" for r in measured)
        print(f"  {name:<11} {cost:6.0f} us  (rounds: {spread})")


def _py_spy() -> str | None:
    """py-spy beside this interpreter (the project's venv), else on PATH."""
    beside = Path(sys.executable).parent / "py-spy"
    return str(beside) if beside.exists() else shutil.which("py-spy")


def _profile(
    py_spy: str, wrk: str, server: servers.Server, seconds: float, output: Path
) -> Counter[str]:
    """Sample one worker while wrk loads the server; innermost frames counted by part."""
    worker = server.worker_pids()[0]
    raw = output.with_suffix(".txt")
    record = [
        py_spy, "record", "--pid", str(worker), "--duration", str(round(seconds)),
        "--rate", "250", "--format", "raw", "--output", str(raw), "--nonblocking", "--gil",
    ]  # fmt: skip
    sampler = threading.Thread(
        target=subprocess.run, args=(record,), kwargs={"capture_output": True, "check": True}
    )
    sampler.start()
    load.run(wrk, server.url, SCENARIO, load.Load(LOAD.threads, LOAD.connections, seconds + 1))
    sampler.join()
    return _parts_of(raw)


def _parts_of(raw: Path) -> Counter[str]:
    """py-spy's raw format: one line per stack, frames joined by ';' outermost first, then the
    count of samples. Idle threads (waiting on a lock or a socket) are left out by py-spy."""
    parts: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        parts[_part(stack)] += int(count)
    return parts


def _part(stack: str) -> str:
    return next((name for name, pattern in PARTS if pattern in stack), SERVER_REST)


def _print_profiles(profiles: dict[str, Counter[str]], rounds: dict[str, list[Round]]) -> None:
    """Each part as a share of its server's CPU per request, so the two servers' parts are in
    microseconds and can be subtracted."""
    costs = {
        name: statistics.median(r.cpu_us_per_request for r in rounds[name]) for name in profiles
    }
    names = [name for name, _ in PARTS if any(c[name] for c in profiles.values())]
    names = [*dict.fromkeys(names), SERVER_REST]
    header = "".join(f"{name:>14}" for name in profiles)
    print(f"\nCPU per request by part (py-spy samples of one worker, in us):\n{'':<66}{header}")
    for part in names:
        cells = ""
        for name, counter in profiles.items():
            share = counter[part] / max(1, sum(counter.values()))
            cells += f"{share * costs[name]:14.0f}"
        print(f"{part:<66}{cells}")
    print(
        "(Each sample is charged to the first part found anywhere in its stack; time in C "
        "code and in the kernel goes to the Python frame that called it.)"
    )


if __name__ == "__main__":
    sys.exit(main())
