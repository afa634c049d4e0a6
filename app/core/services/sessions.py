"""Sessions: one per login, the family of its refresh tokens, and their revocation.

State lives in the database, never in process memory, so a revocation holds on the very next
request on every worker and host.
"""

import json
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from uuid import uuid4

from flask import current_app
from sqlalchemy import ColumnElement
from sqlalchemy import Text
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.core import clock
from app.core.direct_statements import DirectStatement
from app.core.errors import AuthServiceError
from app.core.errors import NotFoundError
from app.core.errors import TokenExpiredError
from app.core.errors import TokenReusedError
from app.core.errors import TokenRevokedError
from app.core.models import RevokedToken
from app.core.models import Role
from app.core.models import Session
from app.core.models import User
from app.core.models import UTCDateTime
from app.core.models import user_roles
from app.core.services import audit
from app.core.services.callers import Caller
from app.core.services.callers import caller_engine
from app.core.tokens import IssuedTokens
from app.core.tokens import RefreshClaims
from app.core.tokens import TokenPolicy
from app.core.tokens import decode_refresh_token
from app.core.tokens import issue_tokens
from app.extensions import db


@dataclass(frozen=True)
class PurgeCounts:
    sessions: int
    revoked_tokens: int


@dataclass(frozen=True)
class LiveSession:
    """One of a user's sessions as its owner sees it; ``current`` is the calling one."""

    id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: str | None
    current: bool


def open_session(
    *,
    user: User,
    dialect: str,
    policy: TokenPolicy,
    user_agent: str | None = None,
    ip: str | None = None,
) -> IssuedTokens:
    now = _whole_seconds(clock.utcnow())
    absolute_expiry = now + timedelta(seconds=current_app.config["AUTH_SESSION_MAX_AGE"])
    session = Session(
        id=str(uuid4()),
        user_id=user.id,
        dialect=dialect,
        created_at=now,
        last_used_at=now,
        expires_at=min(now + (policy.refresh_ttl or policy.access_ttl), absolute_expiry),
        absolute_expires_at=absolute_expiry,
        user_agent=(user_agent or None) and user_agent[:512],
        ip=ip,
    )
    if policy.refresh_ttl is not None:
        session.refresh_jti = str(uuid4())
        session.refresh_issued_at = now
    db.session.add(session)
    tokens = issue_tokens(user=user, session=session, policy=policy)
    _commit_keeping_loaded_rows()
    return tokens


def _commit_keeping_loaded_rows() -> None:
    """Commit without expiring the rows this request has loaded: a login's user, roles and
    session were read or written in this very transaction, and reading them back after the
    commit, only to mint tokens and answer with the user, cost three statements."""
    session = db.session()
    session.expire_on_commit = False
    try:
        session.commit()
    finally:
        session.expire_on_commit = True


def rotate_refresh(*, refresh_token: str, policy: TokenPolicy) -> IssuedTokens:
    """Spend a refresh token and hand out its successor.

    The swap is one conditional UPDATE on the current token id, so of two concurrent
    refreshes with one token exactly one rotates; the other sees a spent token. The new
    expiry slides forward by the refresh lifetime but never past the session's absolute one.
    One statement: the swap is its own transaction and returns what the new tokens carry.
    """
    assert policy.refresh_ttl is not None
    claims = decode_refresh_token(refresh_token)
    now = _whole_seconds(clock.utcnow())
    rotated = _ROTATION.rows_committed(
        caller_engine(),
        {
            "sid": claims.session_id,
            "uid": claims.user_id,
            "spent_jti": claims.jti,
            "now": now,
            "new_jti": str(uuid4()),
            "sliding_expiry": now + policy.refresh_ttl,
        },
    )
    if not rotated:
        return _answer_spent_token(claims, policy, now)
    session_id, user_id, refresh_jti, expires_at, username, role_pairs = rotated[0]
    holder = _Holder(
        id=user_id, username=username, is_active=True, role_names=_ordered_names(role_pairs)
    )
    session = _RotatedSession(session_id, refresh_jti, now, expires_at)
    tokens = issue_tokens(user=holder, session=session, policy=policy)
    _record_refresh("success", claims)
    return tokens


class _RolePairs(FunctionElement[str]):
    """A user's roles as the JSON text of an array of [id, name] pairs ('[]' or NULL for none):
    one value, so the rotation's RETURNING can carry them."""

    type = Text()
    inherit_cache = True


@compiles(_RolePairs, "sqlite")
def _role_pairs_sqlite(element: _RolePairs, compiler: Any, **kw: Any) -> str:
    return f"json_group_array(json_array({compiler.process(element.clauses, **kw)}))"


@compiles(_RolePairs, "postgresql")
def _role_pairs_postgresql(element: _RolePairs, compiler: Any, **kw: Any) -> str:
    return f"CAST(json_agg(json_build_array({compiler.process(element.clauses, **kw)})) AS TEXT)"


def _ordered_names(role_pairs: str | None) -> tuple[str, ...]:
    return tuple(name for _id, name in sorted(json.loads(role_pairs or "[]")))


@dataclass(frozen=True)
class _RotatedSession:
    """What a rotated session's new tokens are minted from."""

    id: str
    refresh_jti: str
    refresh_issued_at: datetime
    expires_at: datetime


_SESSIONS = Session.__table__
_NOW = bindparam("now", type_=UTCDateTime())
_SLIDING_EXPIRY = bindparam("sliding_expiry", type_=UTCDateTime())
# Built once; a Core statement on the table run on the driver's cursor, so neither the ORM's
# bulk-update machinery nor SQLAlchemy's per-execution work is paid on every refresh. Its
# own transaction (autocommit), so a write lock or row lock is held for this statement only.
_ROTATION = DirectStatement(
    update(_SESSIONS)
    .where(
        # Parameter names must differ from column names in an UPDATE.
        _SESSIONS.c.id == bindparam("sid"),
        _SESSIONS.c.user_id == bindparam("uid"),
        # Correlated, so the user is found by its key (an IN over active users scans them all).
        exists().where(User.id == _SESSIONS.c.user_id, User.is_active.is_(True)),
        _SESSIONS.c.refresh_jti == bindparam("spent_jti"),
        _SESSIONS.c.revoked_at.is_(None),
        _SESSIONS.c.expires_at > _NOW,
    )
    .values(
        refresh_jti=bindparam("new_jti"),
        previous_refresh_jti=bindparam("spent_jti"),
        refresh_issued_at=_NOW,
        rotated_at=_NOW,
        expires_at=case(
            (_SESSIONS.c.absolute_expires_at < _SLIDING_EXPIRY, _SESSIONS.c.absolute_expires_at),
            else_=_SLIDING_EXPIRY,
        ),
        last_used_at=_NOW,
    )
    .returning(
        _SESSIONS.c.id,
        _SESSIONS.c.user_id,
        _SESSIONS.c.refresh_jti,
        _SESSIONS.c.expires_at,
        # By the user id given rather than correlated: SQLAlchemy writes the columns of a
        # RETURNING clause, and of its subqueries, without their table names.
        select(User.username).where(User.id == bindparam("uid")).scalar_subquery(),
        select(_RolePairs(Role.id, Role.name))
        .join(user_roles, user_roles.c.role_id == Role.id)
        .where(user_roles.c.user_id == bindparam("uid"))
        .scalar_subquery(),
    )
)


def _is_current_refresh(claims: RefreshClaims, now: datetime) -> list[ColumnElement[bool]]:
    """The refresh token is its live session's current one, and its user is active."""
    # Correlated, so the user is found by its key (an IN over active users scans them all).
    user_is_active = exists().where(User.id == Session.user_id, User.is_active.is_(True))
    return [
        Session.id == claims.session_id,
        Session.user_id == claims.user_id,
        user_is_active,
        Session.refresh_jti == claims.jti,
        Session.revoked_at.is_(None),
        Session.expires_at > now,
    ]


def _answer_spent_token(claims: RefreshClaims, policy: TokenPolicy, now: datetime) -> IssuedTokens:
    found = _find_session(claims.session_id)
    if found is None or found.user_id != claims.user_id:
        _record_refresh("failure", claims, reason="unknown session")
        raise TokenRevokedError()
    session = found
    if session.revoked_at or not session.user.is_active:
        _record_refresh("failure", claims, reason="revoked")
        raise TokenRevokedError()
    if session.refresh_jti == claims.jti:
        _record_refresh("failure", claims, reason="expired")
        raise TokenExpiredError()
    if session.previous_refresh_jti == claims.jti and _within_reuse_grace(session, now):
        _record_refresh("success", claims, reason="grace")
        return issue_tokens(user=session.user, session=session, policy=policy)
    # RFC 9700 section 4.14.2: a spent refresh token presented again revokes the family.
    _revoke_sessions(Session.id == session.id, now=now)
    db.session.commit()
    audit.record(
        event="refresh_reuse",
        outcome="session_revoked",
        user_id=claims.user_id,
        session_id=claims.session_id,
    )
    raise TokenReusedError()


def _record_refresh(outcome: str, claims: RefreshClaims, *, reason: str | None = None) -> None:
    audit.record(
        event="refresh",
        outcome=outcome,
        user_id=claims.user_id,
        session_id=claims.session_id,
        details={"reason": reason} if reason else None,
    )


def _within_reuse_grace(session: "_FoundSession", now: datetime) -> bool:
    grace = current_app.config["AUTH_REFRESH_REUSE_GRACE_SECONDS"]
    if grace <= 0 or session.rotated_at is None:
        return False
    return now - session.rotated_at <= timedelta(seconds=grace)


def log_out(*, caller: Caller, refresh_token: str | None = None) -> None:
    """End the caller's session and revoke the presented access token at once.

    A refresh token of the same user from another session (a stale cookie) ends that
    session too; anyone else's, or one that no longer decodes, is left alone.
    """
    now = clock.utcnow()
    ended = Session.id == caller.session_id
    other = _refresh_session_of(caller.user.id, refresh_token)
    if other is not None:
        ended = or_(ended, Session.id == other)
    _revoke_sessions(ended, now=now)
    _revoke_token(jti=caller.token_jti, expires_at=caller.token_expires_at)
    db.session.commit()
    audit.record(
        event="logout", outcome="success", user_id=caller.user.id, session_id=caller.session_id
    )


def list_live_sessions(*, caller: Caller) -> list[LiveSession]:
    """The caller's sessions that still honour their tokens, most recently used first."""
    found = db.session.scalars(
        select(Session)
        .where(Session.user_id == caller.user.id, *_is_live(clock.utcnow()))
        .order_by(Session.last_used_at.desc(), Session.created_at.desc(), Session.id)
    )
    return [
        LiveSession(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            user_agent=session.user_agent,
            ip=session.ip,
            current=session.id == caller.session_id,
        )
        for session in found
    ]


def end_session(*, caller: Caller, session_id: str) -> None:
    """End one of the caller's live sessions; anyone else's is not found, never forbidden,
    so session ids cannot be probed."""
    now = clock.utcnow()
    ended = db.session.execute(
        update(Session)
        .where(Session.id == session_id, Session.user_id == caller.user.id, *_is_live(now))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    if ended.rowcount != 1:
        db.session.rollback()
        raise NotFoundError("Session not found.")
    db.session.commit()
    audit.record(
        event="logout",
        outcome="success",
        user_id=caller.user.id,
        session_id=session_id,
        details={"via": "sessions", "by_session": caller.session_id},
    )


def log_out_everywhere(*, caller: Caller) -> int:
    """End every session of the caller, the calling one included; how many ended."""
    now = clock.utcnow()
    ended = _revoke_sessions(Session.user_id == caller.user.id, now=now)
    db.session.commit()
    audit.record(
        event="logout",
        outcome="success",
        user_id=caller.user.id,
        session_id=caller.session_id,
        details={"via": "logout-all", "sessions": ended},
    )
    return ended


def _is_live(now: datetime) -> list[ColumnElement[bool]]:
    return [Session.revoked_at.is_(None), Session.expires_at > now]


def _refresh_session_of(user_id: int, refresh_token: str | None) -> str | None:
    if refresh_token is None:
        return None
    try:
        claims = decode_refresh_token(refresh_token)
    except AuthServiceError:
        return None
    return claims.session_id if claims.user_id == user_id else None


def check_refresh_token(*, refresh_token: str) -> None:
    """Pass if the token is its session's current refresh token and the session is live."""
    claims = decode_refresh_token(refresh_token)
    live = db.session.scalar(select(Session.id).where(*_is_current_refresh(claims, clock.utcnow())))
    if live is None:
        raise TokenRevokedError()


def revoke_refresh_family(*, refresh_token: str) -> None:
    """End the session a refresh token belongs to (token-pair's blacklist)."""
    claims = decode_refresh_token(refresh_token)
    ended = db.session.execute(
        update(Session)
        .where(
            Session.id == claims.session_id,
            Session.user_id == claims.user_id,
            Session.revoked_at.is_(None),
        )
        .values(revoked_at=clock.utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    if ended.rowcount != 1:
        raise TokenRevokedError()
    audit.record(
        event="logout",
        outcome="success",
        user_id=claims.user_id,
        session_id=claims.session_id,
        details={"via": "blacklist"},
    )


def end_user_sessions(*, user_id: int, keep_session_id: str | None = None) -> None:
    condition = Session.user_id == user_id
    if keep_session_id is not None:
        condition = condition & (Session.id != keep_session_id)
    _revoke_sessions(condition, now=clock.utcnow())
    db.session.commit()


def purge_expired() -> PurgeCounts:
    """Delete sessions that expired or were revoked, and revocation rows past their expiry."""
    now = clock.utcnow()
    sessions = db.session.execute(
        delete(Session).where(or_(Session.expires_at <= now, Session.revoked_at.is_not(None)))
    )
    tokens = db.session.execute(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    db.session.commit()
    return PurgeCounts(sessions=sessions.rowcount, revoked_tokens=tokens.rowcount)


def _revoke_sessions(condition: Any, *, now: datetime) -> int:
    """Caller commits. How many sessions this ended."""
    ended = db.session.execute(
        update(Session)
        .where(condition, Session.revoked_at.is_(None))
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return ended.rowcount


def _revoke_token(*, jti: str, expires_at: datetime) -> None:
    """Caller commits."""
    if db.session.get(RevokedToken, jti) is None:
        db.session.add(RevokedToken(jti=jti, expires_at=expires_at))


@dataclass(frozen=True)
class _Holder:
    """The user a session's tokens name."""

    id: int
    username: str
    is_active: bool
    role_names: tuple[str, ...]


@dataclass(frozen=True)
class _FoundSession:
    id: str
    user_id: int
    refresh_jti: str | None
    refresh_issued_at: datetime | None
    previous_refresh_jti: str | None
    rotated_at: datetime | None
    expires_at: datetime
    revoked_at: datetime | None
    user: _Holder


_SESSION_READ = DirectStatement(
    select(
        Session.id,
        Session.user_id,
        Session.refresh_jti,
        Session.refresh_issued_at,
        Session.previous_refresh_jti,
        Session.rotated_at,
        Session.expires_at,
        Session.revoked_at,
        User.username,
        User.is_active,
        Role.name.label("role"),
    )
    .join(User, User.id == Session.user_id)
    .outerjoin(user_roles, user_roles.c.user_id == User.id)
    .outerjoin(Role, Role.id == user_roles.c.role_id)
    .where(Session.id == bindparam("session_id"))
    .order_by(Role.id)
)


def _find_session(session_id: str) -> _FoundSession | None:
    """The session with its user and the user's roles, in one statement."""
    rows = _SESSION_READ.rows_in(db.session, {"session_id": session_id})
    if not rows:
        return None
    (session_id, user_id, refresh_jti, refresh_issued_at, previous_refresh_jti, rotated_at,
     expires_at, revoked_at, username, is_active, _role) = rows[0]  # fmt: skip
    holder = _Holder(
        id=user_id,
        username=username,
        is_active=is_active,
        role_names=tuple(row[-1] for row in rows if row[-1] is not None),
    )
    return _FoundSession(
        id=session_id,
        user_id=user_id,
        refresh_jti=refresh_jti,
        refresh_issued_at=refresh_issued_at,
        previous_refresh_jti=previous_refresh_jti,
        rotated_at=rotated_at,
        expires_at=expires_at,
        revoked_at=revoked_at,
        user=holder,
    )


def _whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)
