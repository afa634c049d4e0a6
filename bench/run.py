"""`make bench`: measure the service under gunicorn with wrk, on SQLite and PostgreSQL.

Every figure is read against the service's own /healthz measured in the same round, so the
targets mean the same on a faster or a slower machine. Environment:

    BENCH_DATABASE_URL  PostgreSQL to measure too (a schema of its own is made and dropped);
                        default: 127.0.0.1:5432/test when it answers, "" to leave it out
    BENCH_REDIS_URL     Redis for the rate limits (default redis://127.0.0.1:6379/0)
    BENCH_SECONDS       length of one measurement (default 5)
    BENCH_ROUNDS        interleaved rounds (default 5)
    BENCH_CONNECTIONS   wrk connections for the throughput scenarios (default 16)
    BENCH_WORKERS       "0" skips the comparison of gunicorn worker models (on SQLite)
    BENCH_JWT_ALGORITHM HS256 (default), RS256, ES256 or EdDSA: what the tokens are signed with
"""

import contextlib
import itertools
import json
import os
import socket
import statistics
import tempfile
import time
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from flask import Flask

from app import create_app
from app.core.models import User
from app.core.passwords.security import verify_password
from app.database import db
from bench import load
from bench import report
from bench import seed
from bench import servers
from bench.load import Load
from bench.load import Measurement
from bench.load import Scenario
from bench.reference import naive

RESULTS = Path(__file__).resolve().parent / "results"
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
USERS = 1_000
SMALL_TABLE_ROWS = 1_000
BIG_TABLE_ROWS = 1_000_000
REFRESH_BATCH = 64
MEMORY_REQUESTS = 100_000
HASH_SAMPLES = 21
WARM_UP_SECONDS = 1.0

ROUTES = {
    "baseline": "/healthz",
    "me": "/auth/me",
    "current": "/api/v1/users/current",
    "refresh": "/api/v1/auth/refresh-token",
    "login": "/api/v1/auth/login",
    "login_light": "/api/v1/auth/login",
}
# Served by bench/floor.py on the small database: the input and output alone of a scenario.
FLOOR_ROUTES = {
    "floor_read": "GET /bench/floor/read",
    "floor_limit": "POST /bench/floor/rate-limit",
    "floor_write": "POST /bench/floor/write",
    "floor_refresh_io": "POST /bench/floor/refresh-io",
}
# The peers (bench/reference/), each on its own gunicorn with the same settings: bare Flask,
# and the naive flask-jwt-extended stack on a database of its own.
PEER_ROUTES = {
    "bare": ("GET /healthz", "plain.lua"),
    "naive_me": ("GET /auth/me", "bearer_get.lua"),
    "naive_refresh": ("POST /auth/refresh", "refresh.lua"),
}
PEER_REVOKED_ROWS = 100_000
# Each login scenario logs in the users of one file of emails.
LOGIN_USERS = {"login": "emails", "login_light": "light_emails"}
# Each model overrides gunicorn.conf.py on the command line.
WORKER_MODELS = {
    "gthread 5x4": ("--worker-class", "gthread", "--workers", "5", "--threads", "4"),
    "gthread 5x1": ("--worker-class", "gthread", "--workers", "5", "--threads", "1"),
    "gthread 2x4": ("--worker-class", "gthread", "--workers", "2", "--threads", "4"),
    "sync 5": ("--worker-class", "sync", "--workers", "5"),
}


@dataclass(frozen=True)
class Settings:
    seconds: float
    rounds: int
    connections: int
    postgres_url: str | None
    redis_url: str | None
    compare_workers: bool

    @classmethod
    def from_env(cls) -> "Settings":
        redis_url = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
        return cls(
            seconds=float(os.environ.get("BENCH_SECONDS", "5")),
            rounds=int(os.environ.get("BENCH_ROUNDS", "5")),
            connections=int(os.environ.get("BENCH_CONNECTIONS", "16")),
            postgres_url=_postgres_url(),
            redis_url=redis_url if redis_url and _answers(redis_url) else None,
            compare_workers=os.environ.get("BENCH_WORKERS", "1") != "0",
        )

    def loads(self, seconds: float) -> dict[str, Load]:
        """Throughput scenarios get many connections; logins get one, so their latency is
        their own and not a queue's."""
        many = Load(threads=2, connections=self.connections, seconds=seconds)
        one = Load(threads=1, connections=1, seconds=seconds)
        many_names = [*ROUTES, *FLOOR_ROUTES, *PEER_ROUTES]
        return dict.fromkeys(many_names, many) | dict.fromkeys(LOGIN_USERS, one)


@dataclass
class Stand:
    """A seeded database, its token files, and the gunicorn in front of it."""

    server: servers.Server
    files: dict[str, Path]
    refresh_files: list[Path]
    served: int = 0
    next_batch: int = 0

    def scenario(self, name: str) -> Scenario:
        if name in PEER_ROUTES:
            return self._peer_scenario(name)
        if name in FLOOR_ROUTES:
            route = FLOOR_ROUTES[name]
            return Scenario(name, route, "post.lua" if route.startswith("POST") else "plain.lua")
        method = "POST" if name == "refresh" or name in LOGIN_USERS else "GET"
        route = f"{method} {ROUTES[name]}"
        if name == "baseline":
            return Scenario(name, route, "plain.lua")
        if name == "refresh":
            return Scenario(name, route, "refresh.lua", (str(self._next_refresh_batch()), "cookie"))
        if name in LOGIN_USERS:
            emails = self.files[LOGIN_USERS[name]]
            return Scenario(name, route, "login.lua", (str(emails), seed.PASSWORD))
        return Scenario(name, route, "bearer_get.lua", (str(self.files["access"]),))

    def _peer_scenario(self, name: str) -> Scenario:
        route, script = PEER_ROUTES[name]
        if script == "bearer_get.lua":
            return Scenario(name, route, script, (str(self.files["access"]),))
        if script == "refresh.lua":
            return Scenario(name, route, script, (str(self._next_refresh_batch()), "bearer"))
        return Scenario(name, route, script)

    def _next_refresh_batch(self) -> Path:
        batch = self.refresh_files[self.next_batch]
        self.next_batch += 1
        return batch

    def measure(self, wrk: str, name: str, amount: Load) -> Measurement:
        measured = load.run(wrk, self.server.url, self.scenario(name), amount)
        self.served += measured.requests
        return measured


@dataclass
class Prepared:
    env: dict[str, str]
    app: Flask
    data: seed.SeededData | None
    files: dict[str, Path] = field(default_factory=dict)
    refresh_files: list[Path] = field(default_factory=list)


def main() -> int:
    settings = Settings.from_env()
    wrk = load.ensure_wrk()
    started = datetime.now(UTC)
    kinds = ["sqlite"] + (["postgresql"] if settings.postgres_url else [])
    if settings.postgres_url is None:
        print("bench: no PostgreSQL answers (BENCH_DATABASE_URL), so it is not measured")
    if settings.redis_url is None:
        print("bench: Redis does not answer; the rate limits use per-process memory")
    results: dict[str, Any] = {
        "started": started.isoformat(timespec="seconds"),
        "machine": report.machine(),
        "settings": {
            "seconds": settings.seconds,
            "rounds": settings.rounds,
            "connections": settings.connections,
            "rate_limit_storage": "redis" if settings.redis_url else "memory",
            "access_log": "on" if servers.access_log_setting() == "1" else "off",
        },
        "databases": {},
        "workers": {},
    }
    with tempfile.TemporaryDirectory(prefix="authsvc-bench-") as scratch:
        work = Path(scratch)
        for kind in kinds:
            print(f"\n== {kind} ==", flush=True)
            results["databases"][kind] = measure_database(kind, settings, wrk, work)
            report.print_targets(kind, results["databases"][kind])
            # One server per model at once: on PostgreSQL their pools would pass
            # max_connections, so the models are compared on SQLite.
            if settings.compare_workers and kind == "sqlite":
                print(f"\n== {kind}: gunicorn worker models ==", flush=True)
                results["workers"][kind] = compare_workers(kind, settings, wrk, work)
                report.print_workers(results["workers"][kind])
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{started.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(results, indent=2))
    report.write_markdown(results)
    print(f"\nresults written to {out} and docs/benchmarks.md")
    return 0


def measure_database(kind: str, settings: Settings, wrk: str, work: Path) -> dict[str, Any]:
    with (
        servers.new_database(kind, work, settings.postgres_url) as small_url,
        servers.new_database(kind, work, settings.postgres_url) as big_url,
        servers.new_database(kind, work, settings.postgres_url) as peer_url,
    ):
        batches = settings.rounds + 1
        small = _prepare(small_url, settings, work / f"{kind}-small", SMALL_TABLE_ROWS, batches)
        big = _prepare(big_url, settings, work / f"{kind}-big", BIG_TABLE_ROWS, 0)
        peer = _prepare_peer(peer_url, kind, small.env, work / f"{kind}-peer", batches)
        with (
            servers.gunicorn(small.env, work / f"{kind}-small.log") as small_server,
            servers.gunicorn(big.env, work / f"{kind}-big.log") as big_server,
            servers.gunicorn(
                small.env, work / f"{kind}-floor.log", target="bench.floor:create_floor_app()"
            ) as floor_server,
            servers.gunicorn(
                small.env, work / f"{kind}-bare.log", target="bench.reference.bare:app"
            ) as bare_server,
            servers.gunicorn(
                peer.env, work / f"{kind}-naive.log", target=servers.NAIVE_TARGET
            ) as naive_server,
        ):
            stands = Stands(
                small=Stand(small_server, small.files, small.refresh_files),
                big=Stand(big_server, big.files, big.refresh_files),
                floor=Stand(floor_server, small.files, []),
                bare=Stand(bare_server, {}, []),
                naive=Stand(naive_server, peer.files, peer.refresh_files),
            )
            return _measure_stands(settings, wrk, stands, small.app)


@dataclass(frozen=True)
class Stands:
    """The service on the small and on the big database, and the floor's routes."""

    small: Stand
    big: Stand
    floor: Stand
    bare: Stand
    naive: Stand

    def of_peer(self, name: str) -> Stand:
        return self.bare if name == "bare" else self.naive


def _measure_stands(settings: Settings, wrk: str, stands: Stands, app: Flask) -> dict[str, Any]:
    stand = stands.small
    warm = settings.loads(WARM_UP_SECONDS)
    for name in ROUTES:
        stand.measure(wrk, name, warm[name])
    stands.big.measure(wrk, "me", warm["me"])
    for name in FLOOR_ROUTES:
        stands.floor.measure(wrk, name, warm[name])
    for name in PEER_ROUTES:
        stands.of_peer(name).measure(wrk, name, warm[name])
    run_start = stand.server.worker_rss_mb()
    loads = settings.loads(settings.seconds)
    rounds = []
    for number in range(1, settings.rounds + 1):
        measured = {name: stand.measure(wrk, name, loads[name]) for name in ROUTES}
        measured["me_big_tables"] = stands.big.measure(wrk, "me", loads["me"])
        measured |= {name: stands.floor.measure(wrk, name, loads[name]) for name in FLOOR_ROUTES}
        measured |= {
            name: stands.of_peer(name).measure(wrk, name, loads[name]) for name in PEER_ROUTES
        }
        rounds.append({name: m.as_dict() for name, m in measured.items()})
        # The hashes alone, right after the logins' own measurements, with the servers idle.
        rounds[-1]["hash_p50_ms"] = _hash_p50_ms(app, seed.USER_PREFIX)
        rounds[-1]["light_hash_p50_ms"] = _hash_p50_ms(app, seed.LIGHT_USER_PREFIX)
        print(f"round {number}: " + report.round_line(rounds[-1]), flush=True)
    return {
        "rounds": rounds,
        "memory": _memory_over_requests(stand, wrk, loads["me"], run_start),
        "table_rows": {"small": SMALL_TABLE_ROWS, "big": BIG_TABLE_ROWS},
    }


def _memory_over_requests(
    stand: Stand, wrk: str, amount: Load, run_start: dict[int, float]
) -> dict[str, Any]:
    """Each worker's RSS before and after MEMORY_REQUESTS more authenticated GETs, once the
    rounds have filled its caches (SQLite's page cache grows with the database the logins
    and refreshes wrote); and its RSS after the warm-up, for the whole run's growth."""
    start = stand.server.worker_rss_mb()
    served_before = stand.served
    scenarios = itertools.cycle(("me", "current"))
    while stand.served - served_before < MEMORY_REQUESTS:
        stand.measure(wrk, next(scenarios), amount)
    end = stand.server.worker_rss_mb()
    return {
        "requests": stand.served - served_before,
        "start_mb": list(start.values()),
        "end_mb": [end.get(pid, 0.0) for pid in start],
        "run_start_mb": [run_start.get(pid, 0.0) for pid in start],
        "restarted_workers": sorted(set(end) ^ set(run_start)),
    }


def compare_workers(kind: str, settings: Settings, wrk: str, work: Path) -> dict[str, Any]:
    """The same scenarios against one server per worker model, interleaved round by round."""
    seconds = max(settings.seconds * 0.6, 2.0)
    loads = settings.loads(seconds)
    names = ("baseline", "me", "refresh")
    batches = (settings.rounds + 1) * len(WORKER_MODELS)
    with (
        servers.new_database(kind, work, settings.postgres_url) as url,
        contextlib.ExitStack() as stack,
    ):
        prepared = _prepare(url, settings, work / f"{kind}-workers", SMALL_TABLE_ROWS, batches)
        stands = {}
        for index, (model, options) in enumerate(WORKER_MODELS.items()):
            log = work / f"{kind}-workers-{index}.log"
            server = stack.enter_context(servers.gunicorn(prepared.env, log, *options))
            stands[model] = Stand(server, prepared.files, prepared.refresh_files, next_batch=0)
        for offset, stand in enumerate(stands.values()):
            stand.next_batch = offset * (settings.rounds + 1)
            for name in names:
                stand.measure(wrk, name, settings.loads(WARM_UP_SECONDS)[name])
        figures: dict[str, list[dict[str, Any]]] = {model: [] for model in stands}
        for _ in range(settings.rounds):
            for model, stand in stands.items():
                measured = {name: stand.measure(wrk, name, loads[name]) for name in names}
                figures[model].append({name: m.as_dict() for name, m in measured.items()})
        return {"seconds": seconds, "rounds": figures}


def _prepare(
    url: str, settings: Settings, directory: Path, filler_rows: int, refresh_batches: int
) -> Prepared:
    env = servers.service_env(url, settings.redis_url)
    servers.migrate(env)
    app = create_app(
        "production",
        {
            "SQLALCHEMY_DATABASE_URI": url,
            **{name: env[name] for name in servers.SIGNING_SETTINGS if name in env},
            "RATELIMIT_STORAGE_URI": "memory://",
            "AUTH_MFA_ENCRYPTION_KEY": env["AUTH_MFA_ENCRYPTION_KEY"],
            "AUTH_FRONTEND_URL": env["AUTH_FRONTEND_URL"],
            # Seeding a million rows takes longer than a request may.
            "DATABASE_STATEMENT_TIMEOUT_MS": 600_000,
        },
    )
    data = seed.seed(
        app,
        users=USERS,
        refresh_batches=refresh_batches,
        batch_size=REFRESH_BATCH,
        filler_rows=filler_rows,
    )
    directory.mkdir(parents=True)
    prepared = Prepared(env=env, app=app, data=data)
    prepared.files = {
        "access": _lines(directory / "access.txt", data.access_tokens),
        "emails": _lines(directory / "emails.txt", data.emails),
        "light_emails": _lines(directory / "light-emails.txt", data.light_emails),
    }
    prepared.refresh_files = _refresh_files(directory, data.refresh_batches)
    return prepared


def _prepare_peer(
    url: str, kind: str, service_env: dict[str, str], directory: Path, refresh_batches: int
) -> Prepared:
    """The naive peer's database, seeded at the service's scale, and its token files."""
    env = service_env | {
        "NAIVE_DATABASE_URL": url,
        "NAIVE_JWT_SECRET": service_env.get("JWT_SECRET_KEY") or "naive-" + "0" * 58,
        "NAIVE_SQLITE_TUNED": "1" if kind == "sqlite" else "0",
    }
    app = naive.create_app(url, tune_sqlite=kind == "sqlite")
    app.config["JWT_SECRET_KEY"] = env["NAIVE_JWT_SECRET"]
    seeded = naive.seed(
        app,
        users=USERS,
        revoked=PEER_REVOKED_ROWS,
        refresh_batches=refresh_batches,
        batch_size=REFRESH_BATCH,
    )
    directory.mkdir(parents=True)
    prepared = Prepared(env=env, app=app, data=None)
    prepared.files = {"access": _lines(directory / "access.txt", seeded.access_tokens)}
    prepared.refresh_files = _refresh_files(directory, seeded.refresh_batches)
    return prepared


def _hash_p50_ms(app: Flask, username_prefix: str) -> float:
    """The password check alone of the users named ``username_prefix...``, as the login
    endpoint runs it, with the server idle."""
    with app.app_context():
        password_hash = db.session.scalars(
            db.select(User.password_hash).where(User.username.startswith(username_prefix)).limit(1)
        ).one()
        timings = []
        for _ in range(HASH_SAMPLES):
            start = time.perf_counter()
            verify_password(password_hash, seed.PASSWORD)
            timings.append((time.perf_counter() - start) * 1000)
        db.session.remove()
    return statistics.median(timings)


def _refresh_files(directory: Path, batches: list[list[str]]) -> list[Path]:
    return [_lines(directory / f"refresh-{i}.txt", batch) for i, batch in enumerate(batches)]


def _lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _postgres_url() -> str | None:
    """BENCH_DATABASE_URL, else the machine's PostgreSQL when it answers ("" skips it)."""
    url = os.environ.get("BENCH_DATABASE_URL")
    if url is not None:
        return url or None
    return DEFAULT_POSTGRES_URL if _answers(DEFAULT_POSTGRES_URL) else None


def _answers(url: str) -> bool:
    """Whether the server of ``url`` accepts a connection (its port, else Redis's)."""
    parsed = urlparse(url)
    try:
        socket.create_connection((parsed.hostname or "127.0.0.1", parsed.port or 6379), 2).close()
    except OSError:
        return False
    return True


if __name__ == "__main__":
    raise SystemExit(main())
