"""Refresh-token rotation: a refresh token spent for its successor, and what a spent one gets.

Rotation is one conditional UPDATE, its own transaction, returning what the new tokens carry
(docs/benchmarks.md); on PostgreSQL the same statement stores the rotation's audit row. Only
when it matches nothing is the session looked at: within the reuse grace window the
just-spent token yields the current successor again; otherwise a spent token presented again
revokes the whole session (RFC 9700 section 4.14.2).
"""

import json
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from typing import cast
from uuid import uuid4

from flask import current_app
from sqlalchemy import Table
from sqlalchemy import Text
from sqlalchemy import bindparam
from sqlalchemy import case
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy import update
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from app.core import attempts
from app.core import clock
from app.core.audit import audit
from app.core.direct_statements import DirectStatement
from app.core.direct_statements import own_transaction_engine
from app.core.errors import TokenExpiredError
from app.core.errors import TokenReusedError
from app.core.errors import TokenRevokedError
from app.core.models import AuthEvent
from app.core.models import Role
from app.core.models import SignInSession
from app.core.models import User
from app.core.models import UTCDateTime
from app.core.models import user_roles
from app.core.sessions import sessions
from app.core.sessions.callers import CallingUser
from app.core.sessions.callers import calling_user
from app.core.sessions.callers import select_user_with_grants
from app.core.tokens.tokens import IssuedTokens
from app.core.tokens.tokens import RefreshClaims
from app.core.tokens.tokens import TokenPolicy
from app.core.tokens.tokens import TokenSubject
from app.core.tokens.tokens import decode_refresh_token
from app.core.tokens.tokens import issue_tokens
from app.database import db


def rotate_refresh(*, refresh_token: str, policy: TokenPolicy) -> IssuedTokens:
    """Spend a refresh token and hand out its successor.

    The swap is one conditional UPDATE on the current token id, so of two concurrent
    refreshes with one token exactly one rotates; the other sees a spent token. The new
    expiry slides forward by the refresh lifetime of the face that opened the session (a
    24-hour token-pair session stays one when a blog client refreshes it), and never past
    the absolute expiry fixed at login.
    One statement: the swap is its own transaction and returns what the new tokens carry.
    """
    assert policy.refresh_ttl is not None
    claims = attempts.checked_token(lambda: decode_refresh_token(refresh_token))
    now = sessions.whole_seconds(clock.utcnow())
    event = audit.event_row(
        event="refresh", outcome="success", user_id=claims.user_id, session_id=claims.session_id
    )
    rotated, event_stored = _rotated(claims, now, event)
    if not rotated:
        return _answer_spent_token(claims, policy, now)
    session_id, user_id, refresh_jti, expires_at, amr, auth_time, username, role_pairs = rotated[0]
    holder = TokenSubject(id=user_id, username=username, role_names=_ordered_names(role_pairs))
    session = _RotatedSession(session_id, refresh_jti, now, expires_at, amr, auth_time)
    tokens = issue_tokens(user=holder, session=session, policy=policy)
    if event_stored:
        audit.announce(event)
    else:
        audit.record_row(event)
    return tokens


def _rotated(
    claims: RefreshClaims, now: datetime, event: dict[str, Any]
) -> tuple[list[tuple[Any, ...]], bool]:
    """The rotation's row (none when the token is not the session's current one), and
    whether its statement stored ``event`` with it."""
    engine = own_transaction_engine()
    parameters = {
        "sid": claims.session_id,
        "uid": claims.user_id,
        "spent_jti": claims.jti,
        "now": now,
        "new_jti": str(uuid4()),
        "sliding_expiry": now + claims.lifetime,
    }
    if engine.dialect.name not in _DIALECTS_STORING_THE_EVENT:
        return _ROTATION.rows_committed(engine, parameters), False
    parameters |= {f"event_{name}": event[name] for name in _EVENT_PARAMETERS}
    return _AUDITED_ROTATION.rows_committed(engine, parameters), True


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
    amr: str | None
    auth_time: datetime


_SESSIONS = cast(Table, SignInSession.__table__)
_EVENTS = cast(Table, AuthEvent.__table__)
_NOW = bindparam("now", type_=UTCDateTime())
_SLIDING_EXPIRY = bindparam("sliding_expiry", type_=UTCDateTime())
# Built once; a Core statement on the table run on the driver's cursor, so neither the ORM's
# bulk-update machinery nor SQLAlchemy's per-execution work is paid on every refresh. Its
# own transaction (autocommit), so a write lock or row lock is held for this statement only.
_ROTATION_UPDATE = (
    update(_SESSIONS)
    # Parameter names must differ from column names in an UPDATE.
    .where(
        *sessions.is_current_refresh(
            bindparam("sid"), bindparam("uid"), bindparam("spent_jti"), _NOW
        )
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
        _SESSIONS.c.amr,
        _SESSIONS.c.auth_time,
        # By the user id given rather than correlated: SQLAlchemy writes the columns of a
        # RETURNING clause, and of its subqueries, without their table names.
        select(User.username)
        .where(User.id == bindparam("uid"))
        .scalar_subquery()
        .label("username"),
        select(_RolePairs(Role.id, Role.name))
        .join(user_roles, user_roles.c.role_id == Role.id)
        .where(user_roles.c.user_id == bindparam("uid"))
        .scalar_subquery()
        .label("role_pairs"),
    )
)
_ROTATION = DirectStatement(_ROTATION_UPDATE)

# Where the database can change two tables in one statement (PostgreSQL, by a data-modifying
# WITH), the rotation stores its own audit row: committed with the rotation it records, and
# not left to the audit writer's thread (docs/decisions/0018-refresh-off-the-critical-path.md).
_DIALECTS_STORING_THE_EVENT = frozenset({"postgresql"})
_EVENT_PARAMETERS = ("occurred_at", "event", "outcome", "dialect", "ip", "user_agent")
_ROTATED = _ROTATION_UPDATE.cte("rotated")
_ROTATION_EVENT = (
    insert(_EVENTS)
    .from_select(
        [*_EVENT_PARAMETERS, "user_id", "session_id"],
        select(
            *(bindparam(f"event_{name}", type_=_EVENTS.c[name].type) for name in _EVENT_PARAMETERS),
            _ROTATED.c.user_id,
            _ROTATED.c.id,
        ),
    )
    .cte("rotation_event")
)
_AUDITED_ROTATION = DirectStatement(select(_ROTATED).add_cte(_ROTATION_EVENT))


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
    sessions.revoke_session(session_id=session.id, now=now)
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
    amr: str | None
    auth_time: datetime
    user: CallingUser


_SESSION_COLUMNS = (
    SignInSession.id,
    SignInSession.user_id,
    SignInSession.refresh_jti,
    SignInSession.refresh_issued_at,
    SignInSession.previous_refresh_jti,
    SignInSession.rotated_at,
    SignInSession.expires_at,
    SignInSession.revoked_at,
    SignInSession.amr,
    SignInSession.auth_time,
)
_SESSION_READ = DirectStatement(
    select_user_with_grants(*_SESSION_COLUMNS)
    .join(SignInSession, SignInSession.user_id == User.id)
    .where(SignInSession.id == bindparam("session_id"))
)


def _find_session(session_id: str) -> _FoundSession | None:
    """The session with its user and the user's roles and permissions, in one statement."""
    rows = _SESSION_READ.rows_in(db.session, {"session_id": session_id})
    if not rows:
        return None
    session = dict(zip((column.key for column in _SESSION_COLUMNS), rows[0], strict=False))
    return _FoundSession(**session, user=calling_user(rows, skip=len(_SESSION_COLUMNS)))
