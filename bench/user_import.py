"""`flask users import` at scale: a file of strong foreign hashes (kept as they came), and one
of unsalted SHA-256 (each wrapped in the service's scrypt at import), through the real CLI on
SQLite and PostgreSQL.

    python -m bench.user_import [--users 100000] [--weak 1000] [--postgres-url URL]
                                [--databases sqlite,postgresql]

The strong file mixes bcrypt (node), argon2id, Django's PBKDF2 and argon2, and werkzeug's
scrypt, drawn from a pool of real hashes (the import checks a hash's form and cost, never the
password, so a pool is as costly to import as distinct hashes). Wall-clock seconds of the whole
command, start-up included; the machine's cores are what the wrapping runs on.
"""

import argparse
import base64
import hashlib
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import bcrypt
from argon2 import PasswordHasher
from werkzeug.security import generate_password_hash

from bench.servers import ROOT
from bench.servers import migrate
from bench.servers import new_database
from bench.servers import service_env

POOL = 8
DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _django_pbkdf2(password: str, salt: str) -> str:
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt.encode(), 600_000)
    return f"pbkdf2_sha256$600000${salt}${base64.b64encode(digest).decode()}"


def strong_hash_pool(size: int = POOL) -> list[tuple[str, str | None]]:
    """(hash, hashScheme) of every strong format, ``size`` of each."""
    argon2 = PasswordHasher()
    pool: list[tuple[str, str | None]] = []
    for index in range(size):
        password = f"pool password {index}"
        pool += [
            (bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode(), None),
            (bcrypt.hashpw(password.encode(), bcrypt.gensalt(10)).decode(), None),
            (argon2.hash(password), None),
            (_django_pbkdf2(password, f"salt{index:018d}"), None),
            ("argon2" + argon2.hash(password), None),
            (generate_password_hash(password, "scrypt"), None),
        ]
    return pool


def write_file(path: Path, count: int, pool: list[tuple[str, str | None]], prefix: str) -> Path:
    chooser = random.Random(7)  # noqa: S311 (a repeatable mix of formats, not a secret)
    with path.open("w") as out:
        for number in range(count):
            password_hash, scheme = chooser.choice(pool)
            line = {
                "email": f"{prefix}{number}@bench.example",
                "passwordHash": password_hash,
                "roles": ["user"],
                "displayName": f"Bench user {number}",
                "emailVerified": True,
                "createdAt": "2024-01-15T10:30:00.000Z",
            }
            if scheme:
                line["hashScheme"] = scheme
            out.write(json.dumps(line) + "\n")
    return path


def sha256_pool(size: int = POOL) -> list[tuple[str, str | None]]:
    return [(hashlib.sha256(f"staff {i}".encode()).hexdigest(), "sha256") for i in range(size)]


def timed_import(env: dict[str, str], path: Path) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "flask", "--app", "wsgi", "users", "import", str(path)],
        cwd=ROOT, env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise SystemExit(f"import failed: {done.stderr[:3000]}")
    return seconds, done.stdout.strip().splitlines()[-1]


def measure(
    kind: str, *, users: int, weak: int, postgres_url: str | None, pool: int = POOL
) -> dict[str, float]:
    """Seconds and users per second for each file, on a fresh database of ``kind``."""
    figures: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory() as directory,
        new_database(kind, Path(directory), postgres_url) as database_url,
    ):
        env = service_env(database_url, None)
        migrate(env)
        strong = write_file(Path(directory) / "strong.jsonl", users, strong_hash_pool(pool), "s")
        seconds, summary = timed_import(env, strong)
        print(f"  {kind}: {summary}")
        figures |= {"strong_seconds": seconds, "strong_per_second": users / seconds}
        if weak:
            staff = write_file(Path(directory) / "staff.jsonl", weak, sha256_pool(pool), "w")
            seconds, summary = timed_import(env, staff)
            print(f"  {kind}: {summary}")
            figures |= {"weak_seconds": seconds, "weak_per_second": weak / seconds}
    return figures


def _kinds(postgres_url: str | None, wanted: str) -> Iterator[str]:
    for kind in wanted.split(","):
        if kind == "sqlite" or (kind == "postgresql" and postgres_url):
            yield kind


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--weak", type=int, default=1_000)
    parser.add_argument(
        "--postgres-url", default=os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES_URL)
    )
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    print(f"{args.users} strong-hash users, {args.weak} SHA-256 users, {os.cpu_count()} cores")
    for kind in _kinds(args.postgres_url or None, args.databases):
        figures = measure(kind, users=args.users, weak=args.weak, postgres_url=args.postgres_url)
        line = f"{kind}: {figures['strong_seconds']:.1f} s ({figures['strong_per_second']:,.0f}/s)"
        if args.weak:
            line += (
                f"; SHA-256 wrapped: {figures['weak_seconds']:.1f} s "
                f"({figures['weak_per_second']:,.1f}/s)"
            )
        print(line)


if __name__ == "__main__":
    main()
