"""Targets, console lines and docs/benchmarks.md from the benchmark's figures."""

import os
import platform
import statistics
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DOC = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"
GETS = {"me": "GET /auth/me", "current": "GET /api/v1/users/current"}
MEMORY_LIMIT_MB = 100.0
MEMORY_GROWTH_MB = 5.0


@dataclass(frozen=True)
class Target:
    name: str
    goal: str
    measured: str
    met: bool

    @property
    def verdict(self) -> str:
        return "PASS" if self.met else "MISS"


def machine() -> dict[str, Any]:
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(terse=True),
    }


def round_line(measured: dict[str, Any]) -> str:
    return "  ".join(
        f"{name} {m['rps']:.0f}/s" for name, m in measured.items() if isinstance(m, dict)
    )


def summary(result: dict[str, Any]) -> dict[str, dict[str, float]]:
    """Per scenario, the medians over the rounds of req/s, p50, p99 and the ratios to the
    baseline of the same round."""
    rounds = result["rounds"]
    table = {}
    for name in [key for key, value in rounds[0].items() if isinstance(value, dict)]:
        per_round = [r[name] for r in rounds]
        table[name] = {
            "rps": _median(m["rps"] for m in per_round),
            "p50_ms": _median(m["p50_ms"] for m in per_round),
            "p99_ms": _median(m["p99_ms"] for m in per_round),
            "errors": sum(m["errors"] for m in per_round),
            "ratio": _median(r[name]["rps"] / r["baseline"]["rps"] for r in rounds),
            "p99_ratio": _median(r[name]["p99_ms"] / r["baseline"]["p99_ms"] for r in rounds),
        }
    table["me_big_tables"]["big_ratio"] = _median(
        r["me_big_tables"]["rps"] / r["me"]["rps"] for r in rounds
    )
    return table


def targets(result: dict[str, Any]) -> list[Target]:
    table = summary(result)
    rounds = result["rounds"]
    found = _peer_targets(rounds)
    read_alone = _floor(table, "floor_read", "one database round trip alone")
    for name, label in GETS.items():
        ratio, p99 = table[name]["ratio"], table[name]["p99_ratio"]
        measured = f"{ratio:.2f} ({read_alone}; {_versus(rounds, name)})"
        found.append(Target(f"{label} req/s", ">= 0.60 x baseline", measured, ratio >= 0.60))
        found.append(Target(f"{label} p99", "<= 3 x baseline p99", f"{p99:.2f}", p99 <= 3.0))
    refresh = table["refresh"]["ratio"]
    floor = _floor(table, "floor_refresh_io", "its two round trips alone")
    measured = f"{refresh:.2f} ({floor}; {_versus(rounds, 'refresh')})"
    found.append(Target("refresh req/s", ">= 0.35 x baseline", measured, refresh >= 0.35))
    found.append(_login_target(rounds, table))
    big = table["me_big_tables"]["big_ratio"]
    rows = f"{result['table_rows']['big']:,}"
    found.append(
        Target(f"GET /auth/me with {rows} rows", ">= 0.90 x at 1,000", f"{big:.2f}", big >= 0.90)
    )
    found.append(_memory_target(result["memory"]))
    return found


def _peer_targets(rounds: list[dict[str, Any]]) -> list[Target]:
    """The service against bare Flask and the naive flask-jwt-extended stack, each ratio taken
    within one round (bench/reference/)."""
    healthz = _same_round(rounds, "baseline", "bare")
    found = [Target("GET /healthz", ">= 0.85 x bare Flask", f"{healthz:.2f}", healthz >= 0.85)]
    for name, peer, label in (
        ("me", "naive_me", "GET /auth/me"),
        ("refresh", "naive_refresh", "refresh"),
    ):
        ratio = _same_round(rounds, name, peer)
        measured = f"{ratio:.2f} ({_same_round(rounds, name, 'bare'):.2f} x bare Flask)"
        found.append(Target(label, ">= 2.0 x the naive peer", measured, ratio >= 2.0))
    return found


def _versus(rounds: list[dict[str, Any]], name: str) -> str:
    peer = {"refresh": "naive_refresh"}.get(name, "naive_me")
    return (
        f"{_same_round(rounds, name, peer):.2f} x the naive peer, "
        f"{_same_round(rounds, name, 'bare'):.2f} x bare Flask"
    )


def _same_round(rounds: list[dict[str, Any]], name: str, other: str) -> float:
    return _median(r[name]["rps"] / r[other]["rps"] for r in rounds)


def _floor(table: dict[str, dict[str, float]], name: str, label: str) -> str:
    """A floor's ratio, quoted beside a target; none where its requests failed."""
    row = table[name]
    if row["errors"]:
        return f"{label}: not measured, {row['errors']:.0f} failed requests"
    return f"{label}: {row['ratio']:.2f}"


def _login_target(rounds: list[dict[str, Any]], table: dict[str, dict[str, float]]) -> Target:
    """The login's own time: the p50 of logins whose hash costs microseconds, less that hash;
    the real hash's login and that hash alone beside it."""
    beyond_hash = _median(r["login_light"]["p50_ms"] - r["light_hash_p50_ms"] for r in rounds)
    light_hash_us = _median(r["light_hash_p50_ms"] for r in rounds) * 1000
    hash_ms = _median(r["hash_p50_ms"] for r in rounds)
    measured = (
        f"{beyond_hash:.1f} ms (hash {light_hash_us:.0f} us; with the real hash: "
        f"login {table['login']['p50_ms']:.1f}, its hash alone {hash_ms:.1f})"
    )
    return Target("login p50 beyond the password hash", "<= 10 ms", measured, beyond_hash <= 10.0)


def _memory_target(memory: dict[str, Any]) -> Target:
    start, end = memory["start_mb"], memory["end_mb"]
    growth = max(e - s for s, e in zip(start, end, strict=True))
    flat = (
        max(end) < MEMORY_LIMIT_MB
        and growth <= MEMORY_GROWTH_MB
        and not memory["restarted_workers"]
    )
    return Target(
        f"worker RSS over {memory['requests']:,} requests",
        f"< {MEMORY_LIMIT_MB:.0f} MB, growth <= {MEMORY_GROWTH_MB:.0f} MB",
        f"{max(start):.1f} -> {max(end):.1f} MB (max growth {growth:+.1f} MB); "
        f"{max(memory['run_start_mb']):.1f} MB after the warm-up",
        flat,
    )


def print_targets(kind: str, result: dict[str, Any]) -> None:
    print(f"\n{kind}: targets")
    for target in targets(result):
        print(f"  {target.verdict}  {target.name}: {target.measured} (target {target.goal})")


def worker_summary(result: dict[str, Any]) -> dict[str, dict[str, float]]:
    table = {}
    for model, rounds in result["rounds"].items():
        table[model] = {
            "baseline_rps": _median(r["baseline"]["rps"] for r in rounds),
            "me_rps": _median(r["me"]["rps"] for r in rounds),
            "me_p99_ms": _median(r["me"]["p99_ms"] for r in rounds),
            "refresh_rps": _median(r["refresh"]["rps"] for r in rounds),
            "errors": sum(m["errors"] for r in rounds for m in r.values()),
        }
    return table


def print_workers(result: dict[str, Any]) -> None:
    for model, row in worker_summary(result).items():
        print(
            f"  {model:<12} baseline {row['baseline_rps']:7.0f}/s  /auth/me {row['me_rps']:7.0f}/s"
            f" (p99 {row['me_p99_ms']:.1f} ms)  refresh {row['refresh_rps']:6.0f}/s"
            f"  errors {row['errors']:.0f}"
        )


def write_markdown(results: dict[str, Any]) -> None:
    # Runs before the access log became a setting wrote it for every server.
    settings = {"access_log": "on", **results["settings"]}
    parts = [METHOD.format(**settings, **results["machine"])]
    for kind, result in results["databases"].items():
        parts.append(_database_section(kind, result, results["started"]))
    for kind, result in results["workers"].items():
        parts.append(_workers_section(kind, result))
    parts.append(FINDINGS)
    DOC.write_text("\n".join(parts))


def _database_section(kind: str, result: dict[str, Any], started: str) -> str:
    table = summary(result)
    lines = [
        f"## {kind} ({started})",
        "",
        "| scenario | req/s | p50 ms | p99 ms | ratio to baseline | p99 / baseline p99 | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, row in table.items():
        lines.append(
            f"| {LABELS[name]} | {row['rps']:.0f} | {row['p50_ms']:.2f} | {row['p99_ms']:.2f} "
            f"| {row['ratio']:.2f} | {row['p99_ratio']:.2f} | {row['errors']:.0f} |"
        )
    lines += ["", "| target | goal | measured | |", "|---|---|---|---|"]
    for target in targets(result):
        lines.append(f"| {target.name} | {target.goal} | {target.measured} | {target.verdict} |")
    return "\n".join(lines) + "\n"


def _workers_section(kind: str, result: dict[str, Any]) -> str:
    lines = [
        f"## gunicorn worker models, {kind}",
        "",
        f"Each model served the same database; rounds interleaved, {result['seconds']:.0f} s each.",
        "",
        "| model | /healthz req/s | /auth/me req/s | /auth/me p99 ms | refresh req/s | errors |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for model, row in worker_summary(result).items():
        lines.append(
            f"| {model} | {row['baseline_rps']:.0f} | {row['me_rps']:.0f} "
            f"| {row['me_p99_ms']:.1f} | {row['refresh_rps']:.0f} | {row['errors']:.0f} |"
        )
    return "\n".join(lines) + "\n"


def _median(values: Any) -> float:
    return statistics.median(list(values))


LABELS = {
    "baseline": "GET /healthz (baseline)",
    "me": "GET /auth/me",
    "current": "GET /api/v1/users/current",
    "refresh": "POST /api/v1/auth/refresh-token",
    "login": "POST /api/v1/auth/login (1 connection)",
    "login_light": "POST /api/v1/auth/login, users with a 1-iteration hash (1 connection)",
    "me_big_tables": "GET /auth/me, 1,000,000-row tables",
    "floor_read": "floor: one `SELECT 1` round trip (`GET /bench/floor/read`)",
    "floor_limit": "floor: one rate-limit storage round trip (`POST /bench/floor/rate-limit`)",
    "floor_write": "floor: one committed single-row UPDATE (`POST /bench/floor/write`)",
    "floor_refresh_io": "floor: both, a refresh's I/O alone (`POST /bench/floor/refresh-io`)",
    "bare": "peer: bare Flask, one JSON object (`GET /healthz`)",
    "naive_me": "peer: naive flask-jwt-extended, blocklist + user load (`GET /auth/me`)",
    "naive_refresh": "peer: naive flask-jwt-extended refresh, rotating (`POST /auth/refresh`)",
}

METHOD = """# Benchmarks

`make bench` (this file is rewritten by it; raw figures go to `bench/results/*.json`).

## Method

- The service runs under gunicorn with its own `gunicorn.conf.py`, `APP_ENV=production`, on
  loopback, against SQLite and PostgreSQL (`BENCH_DATABASE_URL`, else the machine's own at
  127.0.0.1:5432 when it answers; a schema of its
  own). Rate limits are on, in {rate_limit_storage}, with budgets too large to trip, so
  their cost is measured but they never refuse the load. Its metrics are on, as in
  production (`METRICS_PORT`: every request timed into a histogram, every auth event
  counted, summed by the master), so their cost is inside every figure; the peers run
  without.
- Seeded: 1,000 users (user role), one live session each, and their access tokens; batches
  of fresh refresh tokens; 1,000 filler rows in `sessions` and `revoked_tokens`. A second
  database is seeded the same way with 1,000,000 filler rows in each (revoked sessions and
  revoked tokens) and served by a second gunicorn.
- wrk (2 threads, {connections} connections, {seconds:g} s per measurement) drives, in each
  of {rounds} rounds and in this order: `GET /healthz` (the baseline: the service's own
  unauthenticated JSON endpoint), `GET /auth/me` and `GET /api/v1/users/current` (a
  different user's bearer token on each request), `POST /api/v1/auth/refresh-token` (each
  refresh cookie is spent once and its rotated successor queued for a later request), `POST
  /api/v1/auth/login` (one connection, so its p50 is the request's own time and not a
  queue's), and `GET /auth/me` against the 1,000,000-row database. Each ratio is taken
  against the baseline of the same round; the tables give the median over the rounds.
- The floor: a third gunicorn serves the service with four more routes (`bench/floor.py`,
  on the small database) that do only the input and output a scenario cannot avoid: one
  `SELECT 1` round trip (an authenticated GET makes exactly one round trip), one round trip
  to the rate-limit storage, one committed single-row UPDATE, and the last two together (a
  refresh's I/O, without its token check, minting, cookie or audit event). Measured in every
  round after the service, against the same round's baseline, they show what this machine
  leaves of the baseline before any of the service's own work; each target line quotes its
  floor.
- The peers, measured in every round after the floor, each on a gunicorn of its own with the
  same `gunicorn.conf.py` (2 workers x 4 threads here, SO_REUSEPORT) and the same access log
  setting as the service: {access_log} for every server (off by default, as deployed behind
  nginx, which writes the access log; `BENCH_ACCESS_LOG=1` turns it on for all). Bare Flask
  returning one JSON object (`bench/reference/bare.py`), and the naive stack
  (`bench/reference/naive.py`): flask-jwt-extended with a `token_in_blocklist_loader` (a jti
  lookup) and a `user_lookup_loader` (the user by primary key), and a refresh that rotates
  (the old jti blocklisted, a new pair minted, one commit); on SQLite with the service's own
  settings (WAL, `synchronous=NORMAL`), or PostgreSQL. Its database holds 1,000 users and
  100,000 revoked jtis. Each peer target is the median over the rounds of the ratio within
  one round; the other targets quote the same two ratios beside their own.
- Login beyond the hash: 50 more users carry a hash of one PBKDF2 iteration (microseconds)
  and are logged in the same way, after the real-hash login; that login's p50, less its
  hash timed in-process, is the login's own time. The real hash (werkzeug scrypt, as
  configured) is timed in-process too with the servers idle, and shown beside it.
- Worker memory: each worker's RSS after the rounds and again after 100,000 more
  authenticated GETs (the rounds fill its caches first: SQLite's page cache, up to 2 MB a
  connection, grows with what the logins and refreshes wrote), and its RSS after the warm-up,
  so the whole run's growth shows too.
- Machine: {cpus} CPUs, Python {python}, {platform}; wrk shares the machine with the service.
"""

FINDINGS = """
## What was measured and decided

The reasoning behind these figures, what was tried and what was dropped, is kept as one
record per decision in docs/decisions/:

- [0004 Where the time of a request went](decisions/0004-where-the-time-went.md)
- [0005 The two doors of the one boundary](decisions/0005-two-doors.md)
- [0006 Against the peers, and the fixed cost per request](decisions/0006-peers-and-fixed-cost.md)
- [0007 Importing users](decisions/0007-importing-users.md)
- [0008 What the remaining targets would take](decisions/0008-remaining-targets.md)
- [0009 One door through flask-jwt-extended's public loaders](decisions/0009-one-public-door.md)
- [0010 The budgets' own counters](decisions/0010-budget-counters.md)
- [0011 Tokens read by joserfc, written by us](decisions/0011-reading-and-writing-tokens.md)
- [0012 What the metrics cost](decisions/0012-metrics-cost.md)
- [0013 A thread keeps its direct statements' connection](decisions/0013-held-connections.md)
- [0018 Refresh budget off the request path](decisions/0018-refresh-off-the-critical-path.md)
- [0019 A serving worker does not load Alembic](decisions/0019-no-alembic-in-workers.md)

## Reading the figures

The ratios, not the absolute figures, are the targets: the same service on another machine
moves the baseline and every scenario together. wrk, the service and PostgreSQL share the
same two cores, so a PostgreSQL round trip is paid in CPU the baseline never spends, and
absolute req/s are lower than on a dedicated load generator.
"""
