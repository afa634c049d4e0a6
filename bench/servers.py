"""Databases and gunicorn servers for the benchmark, each torn down when its block ends."""

import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.fernet import Fernet
from sqlalchemy import create_engine
from sqlalchemy import text
from sqlalchemy.engine import make_url

from app.core.tokens.keys import generate_private_key
from app.core.tokens.keys import private_pem

ROOT = Path(__file__).resolve().parent.parent
# A huge budget: the limits run (and cost what they cost) but never refuse the load.
UNREACHABLE_LIMIT = "100000000 per minute"
SIGNING_SETTINGS = ("JWT_ALGORITHM", "JWT_SECRET_KEY", "JWT_PRIVATE_KEY")


@dataclass(frozen=True)
class Server:
    url: str
    process: subprocess.Popen[bytes]

    def worker_pids(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()]

    def worker_rss_mb(self) -> dict[int, float]:
        return {pid: _rss_mb(pid) for pid in self.worker_pids()}


@contextmanager
def new_database(kind: str, directory: Path, postgres_url: str | None) -> Iterator[str]:
    """An empty SQLite file, or a PostgreSQL schema of its own dropped afterwards."""
    if kind == "sqlite":
        yield f"sqlite:///{directory / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    assert postgres_url is not None
    schema = f"bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = make_url(postgres_url).update_query_dict({"options": f"-csearch_path={schema}"})
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def service_env(database_url: str, redis_url: str | None) -> dict[str, str]:
    """The production configuration, with limits that never trip under the load."""
    env = os.environ | {
        "APP_ENV": "production",
        "DATABASE_URL": database_url,
        "AUTH_FRONTEND_URL": "http://localhost:5000",
        **signing_env(os.environ.get("BENCH_JWT_ALGORITHM", "HS256")),
        "AUTH_RATELIMIT_CREDENTIALS_PER_IP": UNREACHABLE_LIMIT,
        "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT": UNREACHABLE_LIMIT,
        "AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP": UNREACHABLE_LIMIT,
        "AUTH_RATELIMIT_REFRESH_PER_IP": UNREACHABLE_LIMIT,
        "RATELIMIT_KEY_PREFIX": f"bench-{uuid.uuid4().hex[:8]}",
        # A socket per worker, as on a host set up as deploy guidance says (sysctl
        # net.ipv4.tcp_migrate_req=1): one shared socket can leave a worker idle.
        "GUNICORN_REUSE_PORT": "1",
        # Production refuses to start without it while TOTP is on.
        "AUTH_MFA_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    env["RATELIMIT_STORAGE_URI"] = redis_url or "memory://"
    return env


def signing_env(algorithm: str) -> dict[str, str]:
    """A fresh secret for HS256, or a fresh key pair for RS256, ES256 or EdDSA."""
    if algorithm == "HS256":
        return {"JWT_ALGORITHM": algorithm, "JWT_SECRET_KEY": secrets.token_hex(64)}
    private_key = generate_private_key(algorithm)
    return {"JWT_ALGORITHM": algorithm, "JWT_PRIVATE_KEY": private_pem(private_key).decode()}


def migrate(env: dict[str, str]) -> None:
    migrated = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT, env=env, check=False, capture_output=True, text=True,
    )  # fmt: skip
    if migrated.returncode != 0:
        raise RuntimeError(f"flask db upgrade failed: {migrated.stderr.strip()[-2000:]}")


SERVICE_TARGET = "wsgi:app"
NAIVE_TARGET = "bench.reference.naive:create_app()"


@contextmanager
def gunicorn(
    env: dict[str, str], log: Path, *options: str, target: str = SERVICE_TARGET, root: Path = ROOT
) -> Iterator[Server]:
    """gunicorn serving ``target`` of the checkout at ``root`` (this one by default) with its
    gunicorn.conf.py; ``options`` override it. The service runs with its metrics on, as in
    production (their cost is part of every figure; BENCH_METRICS=0 turns them off to
    measure it); the peers without. Every server writes gunicorn's access log or none
    (``access_log_setting``)."""
    port = _free_port()
    env = env | {"GUNICORN_ACCESS_LOG": access_log_setting()}
    if target == SERVICE_TARGET and os.environ.get("BENCH_METRICS", "1") != "0":
        env = env | {"METRICS_PORT": str(_free_port())}
    command = [
        sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py",
        "--bind", f"127.0.0.1:{port}", *options, target,
    ]  # fmt: skip
    with log.open("w") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=out)
    server = Server(url=f"http://127.0.0.1:{port}", process=process)
    try:
        _wait_until_serving(server)
        yield server
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)


def access_log_setting() -> str:
    """No gunicorn access log for any server by default ("0"), as deployed behind nginx,
    which writes one (deploy/README.md); BENCH_ACCESS_LOG=1 turns it on for every server."""
    return "1" if os.environ.get("BENCH_ACCESS_LOG", "0") == "1" else "0"


def _wait_until_serving(server: Server, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError("gunicorn exited during startup; see its log")
        try:
            with urllib.request.urlopen(f"{server.url}/healthz", timeout=1):  # noqa: S310
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"gunicorn did not answer on {server.url} in {timeout:.0f}s")


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
