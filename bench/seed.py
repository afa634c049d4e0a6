"""A benchmark database: users, live sessions with their tokens, and filler rows."""

from dataclasses import dataclass
from datetime import timedelta

from flask import Flask
from sqlalchemy import String
from sqlalchemy import cast
from sqlalchemy import func
from sqlalchemy import insert
from sqlalchemy import literal
from sqlalchemy import select
from sqlalchemy.sql import Select
from werkzeug.security import generate_password_hash

from app.core import clock
from app.core.models import RevokedToken
from app.core.models import Role
from app.core.models import SignInSession
from app.core.models import User
from app.core.models import UTCDateTime
from app.core.models import user_roles
from app.core.passwords.security import hash_password
from app.core.sessions import sessions
from app.core.tokens.tokens import policy_for
from app.database import db

PASSWORD = "bench horse battery staple"  # noqa: S105 (the seeded users' password)
# Users whose hash costs microseconds: a login of theirs is the login's own work, measured
# directly rather than as a difference of two figures of about 100 ms each.
LIGHT_USERS = 50
LIGHT_HASH_METHOD = "pbkdf2:sha256:1"
# Usernames (and emails) start with these: bench0, light0...
USER_PREFIX = "bench"
LIGHT_USER_PREFIX = "light"


@dataclass(frozen=True)
class SeededData:
    access_tokens: list[str]
    refresh_batches: list[list[str]]
    emails: list[str]
    light_emails: list[str]


def seed(
    app: Flask, *, users: int, refresh_batches: int, batch_size: int, filler_rows: int
) -> SeededData:
    """``users`` users with one live session each (their access tokens), ``refresh_batches``
    batches of fresh refresh tokens, and ``filler_rows`` more rows in the sessions and the
    revoked-tokens tables."""
    with app.app_context():
        emails = _add_users(users, USER_PREFIX, hash_password(PASSWORD))
        user_ids = list(db.session.scalars(select(User.id).order_by(User.id)))
        light_emails = _add_users(
            LIGHT_USERS,
            LIGHT_USER_PREFIX,
            generate_password_hash(PASSWORD, method=LIGHT_HASH_METHOD),
        )
        access = [_open(user_id).access_token for user_id in user_ids]
        batches = [
            [_open(user_ids[i % len(user_ids)]).refresh_token or "" for i in range(batch_size)]
            for _ in range(refresh_batches)
        ]
        _add_filler(filler_rows, user_count=len(user_ids))
        _analyze()
        db.session.remove()
    return SeededData(
        access_tokens=access, refresh_batches=batches, emails=emails, light_emails=light_emails
    )


def _add_users(count: int, prefix: str, password_hash: str) -> list[str]:
    """``count`` users named ``prefix0``, ``prefix1``..., all with the one hash given (login
    verifies against it like any other)."""
    emails = [f"{prefix}{i}@example.com" for i in range(count)]
    now = clock.utcnow()
    db.session.execute(
        insert(User),
        [
            {
                "username": f"{prefix}{i}",
                "email": email,
                "password_hash": password_hash,
                "social_links": {},
                "is_active": True,
                "created_at": now,
                "updated_at": now,
            }
            for i, email in enumerate(emails)
        ],
    )
    user_role = db.session.scalars(select(Role.id).where(Role.name == "user")).one()
    ids = db.session.scalars(select(User.id).where(User.username.startswith(prefix))).all()
    db.session.execute(insert(user_roles), [{"user_id": i, "role_id": user_role} for i in ids])
    db.session.commit()
    return emails


def _open(user_id: int) -> sessions.IssuedTokens:
    user = db.session.get(User, user_id)
    assert user is not None
    return sessions.open_session(user=user, dialect="blog", policy=policy_for("BLOG"))


def _add_filler(count: int, *, user_count: int) -> None:
    """Rows the hot path must not scan: revoked and expired sessions, revoked tokens."""
    if count <= 0:
        return
    numbers = _numbers(count)
    n = numbers.c.n
    label = literal("filler-") + cast(n, String)
    now = clock.utcnow()
    past = literal(now - timedelta(days=1), UTCDateTime())
    future = literal(now + timedelta(days=1), UTCDateTime())
    db.session.execute(
        insert(SignInSession).from_select(
            ["id", "user_id", "dialect", "created_at", "last_used_at", "expires_at",
             "absolute_expires_at", "revoked_at", "refresh_jti"],
            select(label, n % user_count + 1, literal("blog"), past, past, future, future,
                   past, label),
        )
    )  # fmt: skip
    db.session.execute(
        insert(RevokedToken).from_select(
            ["jti", "expires_at", "revoked_at"], select(label, future, past)
        )
    )
    db.session.commit()


def _analyze() -> None:
    """Planner statistics, as a database in service has them, rather than the empty-table
    guesses right after a bulk load. On PostgreSQL also VACUUM, or autovacuum would start on
    the million new rows in the middle of the measurements."""
    db.session.commit()
    statement = "VACUUM ANALYZE" if db.engine.dialect.name == "postgresql" else "ANALYZE"
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.exec_driver_sql(statement)


def _numbers(count: int) -> Select:  # type: ignore[type-arg]
    """1..count as a row source, on SQLite and PostgreSQL."""
    if db.engine.dialect.name == "postgresql":
        return select(func.generate_series(1, count).label("n")).subquery()
    seed = select(literal(1).label("n")).cte("numbers", recursive=True)
    numbers = seed.union_all(select(seed.c.n + 1).where(seed.c.n < count))
    return select(numbers.c.n).subquery()
