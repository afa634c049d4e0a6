"""The naive peer: what a team would build with flask-jwt-extended and Flask-SQLAlchemy from
their documentation. A blocklist of revoked jtis read on every request
(``token_in_blocklist_loader``), the user loaded by primary key (``user_lookup_loader``),
and a refresh that rotates: the old jti blocklisted, a new pair minted, one commit.

    NAIVE_DATABASE_URL   where its two tables live (made by ``seed``)
    NAIVE_JWT_SECRET     its HS256 secret
    NAIVE_SQLITE_TUNED   "1": SQLite tuned as the service tunes it (app/database.py): WAL,
                         synchronous=NORMAL, a 10 s busy timeout, foreign keys on. Equal
                         settings on both sides; tests/test_bench_reference.py holds them
                         equal (with FULL, the peer paid an fsync per commit the service
                         does not).
"""

import os
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

from flask import Flask
from flask import jsonify
from flask_jwt_extended import JWTManager
from flask_jwt_extended import create_access_token
from flask_jwt_extended import create_refresh_token
from flask_jwt_extended import current_user
from flask_jwt_extended import get_jwt
from flask_jwt_extended import jwt_required
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import DateTime
from sqlalchemy import String
from sqlalchemy import event
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.orm import Mapped
from sqlalchemy.orm import mapped_column


class Base(DeclarativeBase):
    pass


db = SQLAlchemy(model_class=Base)
jwt = JWTManager()


class User(db.Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    role: Mapped[str] = mapped_column(String(20), default="user")


class RevokedToken(db.Model):
    __tablename__ = "revoked_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    jti: Mapped[str] = mapped_column(String(36), unique=True)
    revoked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def create_app(database_url: str | None = None, *, tune_sqlite: bool | None = None) -> Flask:
    app = Flask(__name__)
    app.config |= {
        "SQLALCHEMY_DATABASE_URI": database_url or os.environ["NAIVE_DATABASE_URL"],
        "JWT_SECRET_KEY": os.environ.get("NAIVE_JWT_SECRET", "naive-peer-secret-" + "0" * 40),
        "JWT_ACCESS_TOKEN_EXPIRES": timedelta(minutes=15),
        "JWT_REFRESH_TOKEN_EXPIRES": timedelta(days=30),
    }
    db.init_app(app)
    jwt.init_app(app)
    if tune_sqlite if tune_sqlite is not None else os.environ.get("NAIVE_SQLITE_TUNED") == "1":
        with app.app_context():
            event.listen(db.engine, "connect", _tuned_as_the_service)
    app.get("/healthz")(lambda: {"status": "ok"})
    app.get("/auth/me")(me)
    app.post("/auth/refresh")(refresh)
    return app


SQLITE_PRAGMAS = (
    "PRAGMA foreign_keys=ON",
    "PRAGMA journal_mode=WAL",
    "PRAGMA busy_timeout=10000",
    "PRAGMA synchronous=NORMAL",
)


def _tuned_as_the_service(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    for pragma in SQLITE_PRAGMAS:
        cursor.execute(pragma)
    cursor.close()


@jwt.token_in_blocklist_loader
def _is_revoked(_header: dict[str, Any], payload: dict[str, Any]) -> bool:
    return (
        db.session.scalar(select(RevokedToken.id).where(RevokedToken.jti == payload["jti"]))
        is not None
    )


@jwt.user_lookup_loader
def _load_user(_header: dict[str, Any], payload: dict[str, Any]) -> User | None:
    return db.session.get(User, int(payload["sub"]))


@jwt_required()
def me() -> Any:
    user = current_user
    return jsonify(id=user.id, username=user.username, email=user.email, role=user.role)


@jwt_required(refresh=True)
def refresh() -> Any:
    db.session.add(RevokedToken(jti=get_jwt()["jti"], revoked_at=datetime.now(UTC)))
    identity = str(current_user.id)
    tokens = {
        "accessToken": create_access_token(identity=identity),
        "refreshToken": create_refresh_token(identity=identity),
    }
    db.session.commit()
    return jsonify(tokens)


@dataclass(frozen=True)
class SeededPeer:
    access_tokens: list[str]
    refresh_batches: list[list[str]]


def seed(
    app: Flask, *, users: int, revoked: int, refresh_batches: int, batch_size: int
) -> SeededPeer:
    """The tables, ``users`` users, ``revoked`` revoked jtis, an access token per user and
    ``refresh_batches`` batches of fresh refresh tokens."""
    with app.app_context():
        db.create_all()
        db.session.execute(
            insert(User),
            [{"username": f"peer{n}", "email": f"peer{n}@bench.example"} for n in range(users)],
        )
        now = datetime.now(UTC)
        for start in range(0, revoked, 10_000):
            rows = [
                {"jti": f"{n:08d}-0000-4000-8000-000000000000", "revoked_at": now}
                for n in range(start, min(start + 10_000, revoked))
            ]
            db.session.execute(insert(RevokedToken), rows)
        db.session.commit()
        ids = [str(n) for n in db.session.scalars(select(User.id).order_by(User.id))]
        access = [create_access_token(identity=user_id) for user_id in ids]
        batches = [
            [
                create_refresh_token(identity=ids[(b * batch_size + i) % len(ids)])
                for i in range(batch_size)
            ]
            for b in range(refresh_batches)
        ]
        db.session.remove()
        for engine in db.engines.values():
            engine.dispose()
    return SeededPeer(access_tokens=access, refresh_batches=batches)
