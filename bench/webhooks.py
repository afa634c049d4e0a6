"""What a webhook endpoint costs the requests that cause its events: registration (two
events: user.created, user.signed_in) and refresh (none), under gunicorn with wrk, with an
endpoint subscribed to every event and without, alternating in each round on one server.

    python -m bench.webhooks [--rounds 5] [--seconds 5] [--databases sqlite,postgresql]

The receiver is a threaded HTTP server on loopback that answers 204 at once, so the
deliveries' own cost (the courier threads signing and posting in the same workers) is in
the figures. Each ratio is "with / without" within one round; the report is their median.
"""

import argparse
import statistics
import subprocess
import sys
import tempfile
import threading
import uuid
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy import text

from app import create_app
from bench import load
from bench import seed
from bench.servers import ROOT
from bench.servers import SIGNING_SETTINGS
from bench.servers import gunicorn
from bench.servers import migrate
from bench.servers import new_database
from bench.servers import service_env

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
LOAD = load.Load(threads=2, connections=16, seconds=5)
REGISTER_LOAD = load.Load(threads=2, connections=4, seconds=5)
REFRESH_BATCH = 2_000  # successors join the queue: a batch lasts a run


class _Sink(BaseHTTPRequestHandler):
    received = 0

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", "0")))
        _Sink.received += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=5)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    options = parser.parse_args()
    wrk = load.ensure_wrk()
    sink = ThreadingHTTPServer(("127.0.0.1", 0), _Sink)
    threading.Thread(target=sink.serve_forever, daemon=True).start()
    receiver = f"http://127.0.0.1:{sink.server_address[1]}/hooks"
    for kind in options.databases.split(","):
        ratios = _measure(kind, options, wrk, receiver)
        print(f"{kind}: with a webhook endpoint / without (median of {options.rounds} rounds)")
        for name, values in ratios.items():
            shown = " ".join(f"{value:.2f}" for value in values)
            print(f"  {name}: {statistics.median(values):.2f}  (rounds: {shown})")
    print(f"deliveries received: {_Sink.received}")
    return 0


def _measure(
    kind: str, options: argparse.Namespace, wrk: str, receiver: str
) -> dict[str, list[float]]:
    with (
        tempfile.TemporaryDirectory() as work,
        new_database(kind, Path(work), options.postgres_url) as database_url,
    ):
        env = service_env(database_url, None) | {"AUTH_WEBHOOK_ALLOW_PRIVATE": "true"}
        migrate(env)
        batches = _refresh_files(Path(work), env, 2 * options.rounds)
        _add_endpoint(env, receiver)
        ratios: dict[str, list[float]] = {"registration": [], "refresh": []}
        with gunicorn(env, Path(work) / "gunicorn.log") as server:
            for number in range(options.rounds):
                rates = {}
                # Each side goes first in every other round: neither always meets the bigger
                # table or the other's queue of deliveries.
                for enabled in (False, True) if number % 2 == 0 else (True, False):
                    _set_enabled(database_url, enabled)
                    rates[enabled] = _round(wrk, server.url, batches.pop(), options.seconds)
                for name in ratios:
                    ratios[name].append(rates[True][name] / rates[False][name])
                print(f"  {kind} round {number + 1}: {rates}")
        return ratios


def _round(wrk: str, url: str, refresh_file: Path, seconds: float) -> dict[str, float]:
    register = load.Scenario(
        "register", "POST /api/v1/auth/register", "register.lua",
        (uuid.uuid4().hex[:8], seed.PASSWORD),
    )  # fmt: skip
    refresh = load.Scenario(
        "refresh", "POST /api/v1/auth/refresh-token", "refresh.lua", (str(refresh_file), "cookie")
    )
    timed = load.Load(REGISTER_LOAD.threads, REGISTER_LOAD.connections, seconds)
    registered = load.run(wrk, url, register, timed)
    refreshed = load.run(wrk, url, refresh, load.Load(LOAD.threads, LOAD.connections, seconds))
    for measured in (registered, refreshed):
        if measured.errors:
            raise load.LoadError(f"{measured.scenario}: {measured.errors} errors")
    return {"registration": registered.rps, "refresh": refreshed.rps}


def _refresh_files(directory: Path, env: dict[str, str], count: int) -> list[Path]:
    """``count`` files of fresh refresh tokens, one per wrk run."""
    app = create_app(
        "production",
        {
            "SQLALCHEMY_DATABASE_URI": env["DATABASE_URL"],
            **{name: env[name] for name in SIGNING_SETTINGS if name in env},
            "RATELIMIT_STORAGE_URI": "memory://",
            "AUTH_MFA_ENCRYPTION_KEY": env["AUTH_MFA_ENCRYPTION_KEY"],
            "AUTH_FRONTEND_URL": env["AUTH_FRONTEND_URL"],
        },
    )
    seeded = seed.seed(
        app, users=100, refresh_batches=count, batch_size=REFRESH_BATCH, filler_rows=0
    )
    paths = []
    for index, batch in enumerate(seeded.refresh_batches):
        path = directory / f"refresh-{index}.txt"
        path.write_text("\n".join(batch) + "\n")
        paths.append(path)
    return paths


def _add_endpoint(env: dict[str, str], receiver: str) -> None:
    """An endpoint for every event, added as an operator would (``flask webhooks add``)."""
    subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "webhooks", "add", receiver,
         "--event", "*"],
        cwd=ROOT, env=env, check=True, capture_output=True,
    )  # fmt: skip


def _set_enabled(database_url: str, enabled: bool) -> None:
    engine = create_engine(database_url)
    with engine.begin() as connection:
        connection.execute(text("UPDATE webhook_endpoints SET enabled = :on"), {"on": enabled})
    engine.dispose()


if __name__ == "__main__":
    raise SystemExit(main())
