"""A refresh's CPU in one process, without gunicorn: the service's own work against the peer's.

    python -m bench.in_process [--database sqlite|postgresql] [--refreshes N] [--measurements K]

Each side is seeded as `make bench` seeds it (the service with the production configuration,
Redis budgets when Redis answers, batched audit rows; the naive peer with its own database).
Then its WSGI app is called in a loop, in a process of its own since the configuration is
read from the environment at import: each rotated refresh token is spent by a later call.
Printed: the CPU time of that process per refresh (``time.process_time``, so its background
threads count too), for each measurement, and the ratio of the medians. Set beside `make
bench`'s ratio under gunicorn, it shows how much of the gap is the service's own work and
how much the server's cost per request, which both sides pay alike
(docs/decisions/0018-refresh-off-the-critical-path.md).
"""

import argparse
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from collections import deque
from collections.abc import Callable
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from gunicorn.util import import_app
from werkzeug.test import EnvironBuilder

from bench import run
from bench import servers

WARM_UP_REFRESHES = 500
SIDES = {
    # side: (the WSGI app as gunicorn names it, the refresh route, how a token is presented)
    "service": (servers.SERVICE_TARGET, run.ROUTES["refresh"], "cookie"),
    "peer": (servers.NAIVE_TARGET, run.PEER_ROUTES["naive_refresh"][0].split()[1], "bearer"),
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--refreshes", type=int, default=3_000)
    parser.add_argument("--measurements", type=int, default=3)
    parser.add_argument("--side", choices=tuple(SIDES), help=argparse.SUPPRESS)
    parser.add_argument("--tokens", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.side:
        costs = measure_side(
            arguments.side, arguments.tokens, arguments.refreshes, arguments.measurements
        )
        print(json.dumps(costs))
        return 0
    return _measure_both(arguments.database, arguments.refreshes, arguments.measurements)


def _measure_both(kind: str, refreshes: int, measurements: int) -> int:
    settings = run.Settings.from_env()
    if kind == "postgresql" and settings.postgres_url is None:
        raise SystemExit("bench.in_process: no PostgreSQL answers (BENCH_DATABASE_URL)")
    batches = 3
    with (
        tempfile.TemporaryDirectory(prefix="authsvc-in-process-") as scratch,
        servers.new_database(kind, Path(scratch), settings.postgres_url) as service_url,
        servers.new_database(kind, Path(scratch), settings.postgres_url) as peer_url,
    ):
        work = Path(scratch)
        service = run._prepare(
            service_url, settings, work / "service", run.SMALL_TABLE_ROWS, batches
        )
        peer = run._prepare_peer(peer_url, kind, service.env, work / "peer", batches)
        costs = {
            side: _run_side(side, prepared.env, prepared.refresh_files, refreshes, measurements)
            for side, prepared in (("service", service), ("peer", peer))
        }
    _print(kind, costs)
    return 0


def _run_side(
    side: str, env: dict[str, str], files: list[Path], refreshes: int, measurements: int
) -> list[float]:
    tokens = files[0].parent / "all-refresh-tokens.txt"
    tokens.write_text("".join(path.read_text() for path in files))
    command = [
        sys.executable, "-m", "bench.in_process", "--side", side, "--tokens", str(tokens),
        "--refreshes", str(refreshes), "--measurements", str(measurements),
    ]  # fmt: skip
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench.in_process --side {side} failed: {done.stderr[-2000:]}")
    return [float(cost) for cost in json.loads(done.stdout.strip().splitlines()[-1])]


def measure_side(side: str, tokens: Path, refreshes: int, measurements: int) -> list[float]:
    """CPU microseconds per refresh of ``side``'s app, in this process, per measurement."""
    target, route, presented = SIDES[side]
    app = import_app(target)
    refresh = refresher(app, route, presented, deque(tokens.read_text().split()))
    for _ in range(WARM_UP_REFRESHES):
        refresh()
    costs = []
    for _ in range(measurements):
        start = time.process_time()
        for _ in range(refreshes):
            refresh()
        costs.append((time.process_time() - start) / refreshes * 1e6)
    return costs


def refresher(app: Any, route: str, presented: str, queue: deque[str]) -> Callable[[], None]:
    """One refresh per call: the oldest token spent, its successor queued for a later call."""
    base = EnvironBuilder(path=route, method="POST", environ_base={"REMOTE_ADDR": "127.0.0.1"})
    environ = base.get_environ()
    answered: dict[str, Any] = {}

    def start_response(status: str, headers: list[tuple[str, str]], *_: Any) -> None:
        answered["status"], answered["headers"] = status, headers

    def refresh() -> None:
        request = dict(environ, **{"wsgi.input": io.BytesIO(b"")})
        request.update(presentation(presented, queue.popleft()))
        body = b"".join(app(request, start_response))
        if not answered["status"].startswith("200"):
            raise RuntimeError(f"refresh answered {answered['status']}: {body[:200]!r}")
        queue.append(successor(presented, answered["headers"], body))

    return refresh


def presentation(presented: str, token: str) -> dict[str, str]:
    """The request headers that carry ``token``: the blog's cookie or the peer's bearer."""
    if presented == "cookie":
        return {"HTTP_COOKIE": f"refreshToken={token}"}
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def successor(presented: str, headers: Iterable[tuple[str, str]], body: bytes) -> str:
    """The rotated refresh token an answer carries, where its client would find it."""
    if presented == "bearer":
        return str(json.loads(body)["refreshToken"])
    for name, value in headers:
        if name.lower() == "set-cookie" and value.startswith("refreshToken="):
            return value.split(";", 1)[0].removeprefix("refreshToken=")
    raise RuntimeError("the answer set no refreshToken cookie")


def _print(kind: str, costs: dict[str, list[float]]) -> None:
    print(f"refresh in one process, {kind}: CPU per refresh (measurements)")
    for side, measured in costs.items():
        spread = ", ".join(f"{cost:.0f}" for cost in measured)
        print(f"  {side:<8} {statistics.median(measured):6.0f} us  ({spread})")
    ratio = statistics.median(costs["peer"]) / statistics.median(costs["service"])
    print(f"  peer / service: {ratio:.2f} x")


if __name__ == "__main__":
    raise SystemExit(main())
