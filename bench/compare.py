"""Two checkouts of the service under gunicorn, side by side: is a change's gain real?

    python -m bench.compare OTHER_CHECKOUT [--database sqlite|postgresql] [--rounds N]

This checkout and OTHER_CHECKOUT (for example a ``git worktree`` of the commit before a
change) each serve the same seeded database, with the same settings as ``make bench``
(BENCH_SECONDS, BENCH_CONNECTIONS, BENCH_JWT_ALGORITHM, BENCH_REDIS_URL). Each round measures
``GET /healthz``, ``GET /auth/me`` and the rotating refresh on both, the two servers taking
turns to go first, so a drift of the machine's speed touches both alike. Printed: each
scenario's median req/s, p50 and p99 on each side, and the median over the rounds of this
checkout's req/s over the other's within one round. Both checkouts must share the schema.
"""

import argparse
import statistics
import tempfile
from pathlib import Path
from typing import Any

from bench import load
from bench import servers
from bench.run import SMALL_TABLE_ROWS
from bench.run import WARM_UP_SECONDS
from bench.run import Settings
from bench.run import Stand
from bench.run import _prepare

SCENARIOS = ("baseline", "me", "refresh")
SIDES = ("this", "other")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="the other checkout's directory")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--rounds", type=int, default=7)
    arguments = parser.parse_args()
    settings = Settings.from_env()
    if arguments.database == "postgresql" and settings.postgres_url is None:
        raise SystemExit("bench.compare: no PostgreSQL answers (BENCH_DATABASE_URL)")
    rounds = _measure(arguments.other.resolve(), arguments.database, arguments.rounds, settings)
    _print(rounds)
    return 0


def _measure(
    other: Path, kind: str, rounds: int, settings: Settings
) -> list[dict[str, dict[str, Any]]]:
    wrk = load.ensure_wrk()
    loads = settings.loads(settings.seconds)
    with (
        tempfile.TemporaryDirectory(prefix="authsvc-compare-") as scratch,
        servers.new_database(kind, Path(scratch), settings.postgres_url) as url,
    ):
        work = Path(scratch)
        prepared = _prepare(url, settings, work / "data", SMALL_TABLE_ROWS, 2 * (rounds + 1))
        with (
            servers.gunicorn(prepared.env, work / "this.log") as this_server,
            servers.gunicorn(prepared.env, work / "other.log", root=other) as other_server,
        ):
            stands = {
                "this": Stand(this_server, prepared.files, prepared.refresh_files),
                "other": Stand(
                    other_server, prepared.files, prepared.refresh_files, next_batch=rounds + 1
                ),
            }
            for stand in stands.values():
                for name in SCENARIOS:
                    stand.measure(wrk, name, settings.loads(WARM_UP_SECONDS)[name])
            measured = []
            for number in range(rounds):
                order = SIDES if number % 2 == 0 else SIDES[::-1]
                measured.append(
                    {
                        side: {
                            name: stands[side].measure(wrk, name, loads[name]).as_dict()
                            for name in SCENARIOS
                        }
                        for side in order
                    }
                )
                print(f"round {number + 1}: " + _round_line(measured[-1]), flush=True)
    return measured


def _round_line(measured: dict[str, dict[str, Any]]) -> str:
    return "  ".join(
        f"{name} {measured['this'][name]['rps']:.0f}/{measured['other'][name]['rps']:.0f}"
        for name in SCENARIOS
    )


def _print(rounds: list[dict[str, dict[str, Any]]]) -> None:
    print(
        "\nscenario   this req/s  p50 ms  p99 ms   other req/s  p50 ms  p99 ms"
        "   this / other (median)  errors"
    )
    for name in SCENARIOS:
        sides = {
            side: [
                statistics.median(r[side][name][figure] for r in rounds)
                for figure in ("rps", "p50_ms", "p99_ms")
            ]
            for side in SIDES
        }
        ratio = statistics.median(r["this"][name]["rps"] / r["other"][name]["rps"] for r in rounds)
        errors = sum(r[side][name]["errors"] for r in rounds for side in SIDES)
        this, other = sides["this"], sides["other"]
        print(
            f"{name:<10} {this[0]:>10.0f} {this[1]:>7.2f} {this[2]:>7.2f}   "
            f"{other[0]:>11.0f} {other[1]:>7.2f} {other[2]:>7.2f}   {ratio:>21.3f}  {errors:>6}"
        )


if __name__ == "__main__":
    raise SystemExit(main())
