"""The admin dashboard's figures at scale: a million audit rows over sixty days and a hundred
thousand users, on SQLite and PostgreSQL; the time of GET /api/v1/dashboard's core call.

    python -m bench.dashboard [--events 1000000] [--users 100000] [--rounds 5]
                              [--postgres-url URL] [--databases sqlite,postgresql]

Prints the median and worst of the rounds per database, and PostgreSQL's plan of the
hourly count (to show it reads the (event, occurred_at, outcome) index).
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Connection
from sqlalchemy import text

from bench.servers import migrate
from bench.servers import new_database
from bench.servers import service_env

DEFAULT_POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"

POSTGRES_SEED = """
INSERT INTO users (username, email, password_hash, social_links, is_active, created_at,
                   updated_at, admin_requested, mfa_failures)
SELECT 'user' || n, 'user' || n || '@example.com', 'x', '{}', true,
       now() - (n % 90) * interval '1 day', now(), false, 0
FROM generate_series(1, :users) AS n;
INSERT INTO auth_events (occurred_at, event, outcome, user_id)
SELECT now() - (random() * 60) * interval '1 day',
       (ARRAY['login','refresh','logout','client_auth','mfa_failed','password_change'])
           [1 + n % 6],
       (ARRAY['success','success','success','failure'])[1 + n % 4],
       1 + n % :users
FROM generate_series(1, :events) AS n;
"""


def _seed_sqlite(connection: Connection, users: int, events: int) -> None:
    connection.execute(
        text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :users) "
            "INSERT INTO users (username, email, password_hash, social_links, is_active, "
            "created_at, updated_at, admin_requested, mfa_failures) "
            "SELECT 'user' || i, 'user' || i || '@example.com', 'x', '{}', 1, "
            "strftime('%Y-%m-%d %H:%M:%f', 'now', '-' || (i % 90) || ' days'), "
            "strftime('%Y-%m-%d %H:%M:%f', 'now'), 0, 0 FROM n"
        ),
        {"users": users},
    )
    connection.execute(
        text(
            "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < :events) "
            "INSERT INTO auth_events (occurred_at, event, outcome, user_id) "
            "SELECT strftime('%Y-%m-%d %H:%M:%f', 'now', "
            "'-' || (abs(random()) % 5184000) || ' seconds'), "
            "CASE i % 6 WHEN 0 THEN 'login' WHEN 1 THEN 'refresh' WHEN 2 THEN 'logout' "
            "WHEN 3 THEN 'client_auth' WHEN 4 THEN 'mfa_failed' ELSE 'password_change' END, "
            "CASE i % 4 WHEN 3 THEN 'failure' ELSE 'success' END, 1 + i % :users FROM n"
        ),
        {"events": events, "users": users},
    )
    connection.execute(text("ANALYZE"))


def _measure(url: str, kind: str, args: argparse.Namespace) -> None:
    env = service_env(url, None)
    migrate(env)
    from app import create_app
    from app.core.accounts import dashboard
    from app.core.roles import ADMIN
    from app.database import db

    app = create_app("testing", {"SQLALCHEMY_DATABASE_URI": url, "JWT_SECRET_KEY": "x" * 128})

    class Admin:
        id = 0
        role_names = (ADMIN,)
        permission_names = ()

    with app.app_context():
        started = time.monotonic()
        with db.engine.begin() as connection:
            if kind == "postgresql":
                # The service's statement timeout is for requests, not for a seed.
                connection.execute(text("SET LOCAL statement_timeout = 0"))
                for statement in filter(str.strip, POSTGRES_SEED.split(";")):
                    connection.execute(
                        text(statement), {"users": args.users, "events": args.events}
                    )
            else:
                _seed_sqlite(connection, args.users, args.events)
        if kind == "postgresql":
            # As autovacuum leaves a table that has settled: statistics and a visibility
            # map, so a count can read the index alone.
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
                c.execute(text("VACUUM ANALYZE auth_events"))
                c.execute(text("VACUUM ANALYZE users"))
        print(f"{kind}: seeded {args.events} events, {args.users} users "
              f"in {time.monotonic() - started:.1f} s")  # fmt: skip
        timings = []
        for _ in range(args.rounds):
            started = time.perf_counter()
            figures = dashboard.dashboard(actor=Admin())
            timings.append(time.perf_counter() - started)
            db.session.rollback()
        print(f"{kind}: dashboard in {statistics.median(timings) * 1000:.0f} ms median, "
              f"{max(timings) * 1000:.0f} ms worst of {args.rounds}; "
              f"{sum(b.sign_ins for b in figures.daily)} sign-ins in 30 days")  # fmt: skip
        if kind == "postgresql":
            plan = db.session.execute(
                text(
                    "EXPLAIN SELECT date_trunc('hour', timezone('UTC', occurred_at)), event, "
                    "outcome, count(*) FROM auth_events WHERE event IN ('login', 'refresh') "
                    "AND occurred_at >= now() - interval '1 day' GROUP BY 1, 2, 3"
                )
            ).scalars()
            print("\n".join(f"  {line}" for line in plan))
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--postgres-url", default=DEFAULT_POSTGRES_URL)
    parser.add_argument("--databases", default="sqlite,postgresql")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        for kind in args.databases.split(","):
            with new_database(kind, Path(directory), args.postgres_url) as url:
                _measure(url, kind, args)
    sys.stdout.flush()


if __name__ == "__main__":
    main()
