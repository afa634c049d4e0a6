"""wrk runs: one scenario against one server, read back from the JSON line it prints."""

import json
import os
import shutil
import signal
import subprocess
from dataclasses import asdict
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "wrk"


@dataclass(frozen=True)
class Load:
    """How hard to push: wrk threads and open connections, for how long."""

    threads: int
    connections: int
    seconds: float


@dataclass(frozen=True)
class Scenario:
    name: str
    method_path: str
    script: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Measurement:
    scenario: str
    requests: int
    errors: int
    rps: float
    p50_ms: float
    p99_ms: float
    # What the errors were, by wrk's kinds (connect, read, write, timeouts, non_2xx), if any.
    error_kinds: tuple[tuple[str, int], ...] = ()

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


class LoadError(RuntimeError):
    pass


def ensure_wrk() -> str:
    """wrk from Debian's package, installed when absent and the script may install it."""
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        print("bench: installing wrk (Debian package)")
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"],
            check=True, env=os.environ | {"DEBIAN_FRONTEND": "noninteractive"},
        )  # fmt: skip
        found = shutil.which("wrk")
    if not found:
        raise LoadError("wrk is not installed and could not be installed: apt-get install wrk")
    return found


def run(wrk: str, base_url: str, scenario: Scenario, load: Load) -> Measurement:
    return finish(start(wrk, base_url, scenario, load), scenario)


def start(wrk: str, base_url: str, scenario: Scenario, load: Load) -> subprocess.Popen[str]:
    """wrk running in the background for at most ``load.seconds``; ``finish`` reads it."""
    threads = str(load.threads)
    command = [
        wrk, "-t", threads, "-c", str(load.connections), "-d", f"{max(1, round(load.seconds))}s",
        "--timeout", "10s", "-s", str(SCRIPTS / scenario.script),
        base_url + scenario.method_path.split(" ", 1)[1], "--", *scenario.args, threads,
    ]  # fmt: skip
    env = os.environ | {"LUA_PATH": f"{SCRIPTS}/?.lua;;"}
    return subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    )


def finish(running: subprocess.Popen[str], scenario: Scenario, *, now: bool = False) -> Measurement:
    """What wrk measured: when it ends, or at once if ``now`` (wrk stops on SIGINT and prints
    what it measured so far)."""
    if now and running.poll() is None:
        running.send_signal(signal.SIGINT)
    stdout, stderr = running.communicate()
    for line in stdout.splitlines():
        if line.startswith("BENCH_RESULT "):
            return _measurement(scenario.name, json.loads(line.removeprefix("BENCH_RESULT ")))
    raise LoadError(f"wrk printed no result for {scenario.name}: {stderr.strip()}")


_ERROR_KINDS = ("connect_errors", "read_errors", "write_errors", "timeouts", "non_2xx")


def _measurement(name: str, raw: dict[str, int]) -> Measurement:
    kinds = tuple((kind, raw[kind]) for kind in _ERROR_KINDS if raw[kind])
    return Measurement(
        scenario=name,
        requests=raw["requests"],
        errors=sum(count for _kind, count in kinds),
        error_kinds=kinds,
        rps=raw["requests"] / (raw["duration_us"] / 1e6),
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
    )
