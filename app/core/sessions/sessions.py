"""Sessions: one per login, the family of its refresh tokens, and their revocation (their
rotation: app/core/sessions/refreshes.py).

State lives in the database, never in process memory, so a revocation holds on the very next
request on every worker and host.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta
from typing import Any
from uuid import uuid4

from flask import current_app
from sqlalchemy import ColumnElement
from sqlalchemy import and_
from sqlalchemy import delete
from sqlalchemy import exists
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select
from sqlalchemy import update

from app.core import attempts
from app.core import clock
from app.core.audit import audit
from app.core.audit.origin import ClientInfo
from app.core.errors import AuthServiceError
from app.core.errors import EmailNotVerifiedError
from app.core.errors import InvalidCredentialsError
from app.core.errors import NotFoundError
from app.core.errors import TokenRevokedError
from app.core.hooks import events
from app.core.models import RevokedToken
from app.core.models import SignInSession
from app.core.models import User
from app.core.sessions.callers import Caller
from app.core.tokens.tokens import AMR_PWD
from app.core.tokens.tokens import IssuedTokens
from app.core.tokens.tokens import RefreshClaims
from app.core.tokens.tokens import TokenPolicy
from app.core.tokens.tokens import decode_refresh_token
from app.core.tokens.tokens import issue_tokens
from app.core.tokens.tokens import proves_second_factor
from app.database import db
from app.database import rows_changed


@dataclass(frozen=True)
class SignedIn:
    """A finished sign-in, whichever way it came in: the user and the new session's tokens."""

    user: User
    tokens: IssuedTokens


@dataclass(frozen=True)
class PurgeCounts:
    sessions: int
    revoked_tokens: int


# A session opened outside a request (the CLI, a test): no user agent, no address.
NO_CLIENT = ClientInfo(user_agent=None, ip=None)


@dataclass(frozen=True)
class LiveSession:
    """One of a user's sessions as its owner sees it; ``current`` is the calling one."""

    id: str
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    ip: str | None
    client_type: str
    device_name: str | None
    current: bool


def complete_sign_in(
    *,
    user: User,
    dialect: str,
    policy: TokenPolicy,
    client: ClientInfo,
    amr: Sequence[str] = (AMR_PWD,),
    event: str = "login",
    details: dict[str, Any] | None = None,
) -> SignedIn:
    """Every way in ends here (a password, a second step, a passkey, a provider, a
    registration): the account must be active and, with AUTH_REQUIRE_VERIFIED_EMAIL,
    verified; a session opens, carrying ``amr``; the sign-in is audited as ``event``."""
    if not user.is_active:
        raise InvalidCredentialsError(user_id=user.id)
    tokens = open_session(user=user, dialect=dialect, policy=policy, client=client, amr=amr)
    audit.record(
        event=event,
        outcome="success",
        user_id=user.id,
        session_id=tokens.session_id,
        details=details,
    )
    return SignedIn(user=user, tokens=tokens)


def require_may_sign_in(user: User) -> None:
    """The rule every way in passes, when its first step is done and again as the session
    opens: with AUTH_REQUIRE_VERIFIED_EMAIL, an account whose address is not verified gets no
    session (a password, a second step, a passkey or a provider alike)."""
    if current_app.config["AUTH_REQUIRE_VERIFIED_EMAIL"] and user.email_verified_at is None:
        audit.record(
            event="login",
            outcome="failure",
            user_id=user.id,
            details={"reason": "email_not_verified"},
        )
        raise EmailNotVerifiedError()


def open_session(
    *,
    user: User,
    dialect: str,
    policy: TokenPolicy,
    client: ClientInfo = NO_CLIENT,
    amr: Sequence[str] = (AMR_PWD,),
) -> IssuedTokens:
    """A new session for ``user``, with its first tokens; ``amr`` says how the login proved
    who it was, and every access token of the session carries it. Every way in ends here."""
    require_may_sign_in(user)
    now = whole_seconds(clock.utcnow())
    absolute_expiry = now + timedelta(seconds=current_app.config["AUTH_SESSION_MAX_AGE"])
    session = SignInSession(
        id=str(uuid4()),
        user_id=user.id,
        dialect=dialect,
        created_at=now,
        last_used_at=now,
        expires_at=min(now + (policy.refresh_ttl or policy.access_ttl), absolute_expiry),
        absolute_expires_at=absolute_expiry,
        user_agent=(client.user_agent or None) and client.user_agent[:512],
        ip=client.ip,
        client_type=client.client_type,
        device_name=client.device_name,
        amr=" ".join(amr),
        auth_time=now,
        auth_methods=" ".join(amr),
        second_factor_at=now if proves_second_factor(amr) else None,
    )
    if policy.refresh_ttl is not None:
        session.refresh_jti = str(uuid4())
        session.refresh_issued_at = now
    db.session.add(session)
    _record_sign_in(user, now)
    tokens = issue_tokens(user=user, session=session, policy=policy)
    events.emit("user.signed_in", user=user, sessionId=session.id, amr=list(amr))
    _commit_keeping_loaded_rows()
    return tokens


def _record_sign_in(user: User, now: datetime) -> None:
    """Caller commits. A sign-in is not a change to the account: its updatedAt stays."""
    db.session.execute(
        update(User)
        .where(User.id == user.id)
        .values(last_sign_in_at=now, updated_at=User.updated_at)
        .execution_options(synchronize_session=False)
    )


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


def is_current_refresh(
    session_id: Any, user_id: Any, jti: Any, now: Any
) -> list[ColumnElement[bool]]:
    """The conditions under which a refresh token is its live session's current one, and its
    user is active: each argument a value, or a bind parameter of a statement built once."""
    # Correlated, so the user is found by its key (an IN over active users scans them all).
    user_is_active = exists().where(User.id == SignInSession.user_id, User.is_active.is_(True))
    return [
        SignInSession.id == session_id,
        SignInSession.user_id == user_id,
        user_is_active,
        SignInSession.refresh_jti == jti,
        SignInSession.revoked_at.is_(None),
        SignInSession.expires_at > now,
    ]


def log_out(*, caller: Caller, refresh_token: str | None = None) -> None:
    """End the caller's session and revoke the presented access token at once.

    A refresh token of the same user from another session (a stale cookie) ends that
    session too; anyone else's, or one that no longer decodes, is left alone.
    """
    now = clock.utcnow()
    ended = SignInSession.id == caller.session_id
    other = _refresh_session_of(caller.user.id, refresh_token)
    if other is not None:
        ended = or_(ended, SignInSession.id == other)
    _revoke_sessions(ended, now=now)
    _revoke_token(jti=caller.token_jti, expires_at=caller.token_expires_at)
    db.session.commit()
    audit.record(
        event="logout", outcome="success", user_id=caller.user.id, session_id=caller.session_id
    )


def log_out_by_refresh_token(*, refresh_token: str) -> bool:
    """End the session of a valid refresh token, whatever became of its access token;
    False when the token does not decode or its session had already ended."""
    try:
        claims = decode_refresh_token(refresh_token)
    except AuthServiceError:
        return False
    return _end_session_of(claims, via="refresh_cookie")


def live_sessions_of(*, user_id: int) -> Sequence[SignInSession]:
    """The user's sessions that still honour their tokens, most recently used first."""
    return db.session.scalars(
        select(SignInSession)
        .where(SignInSession.user_id == user_id, *_is_live(clock.utcnow()))
        .order_by(
            SignInSession.last_used_at.desc(), SignInSession.created_at.desc(), SignInSession.id
        )
    ).all()


def list_live_sessions(*, caller: Caller) -> list[LiveSession]:
    """The caller's sessions that still honour their tokens, most recently used first."""
    found = live_sessions_of(user_id=caller.user.id)
    return [
        LiveSession(
            id=session.id,
            created_at=session.created_at,
            last_used_at=session.last_used_at,
            expires_at=session.expires_at,
            user_agent=session.user_agent,
            ip=session.ip,
            client_type=session.client_type,
            device_name=session.device_name,
            current=session.id == caller.session_id,
        )
        for session in found
    ]


def end_session(*, caller: Caller, session_id: str) -> None:
    """End one of the caller's live sessions; anyone else's is not found, never forbidden,
    so session ids cannot be probed."""
    now = clock.utcnow()
    ended = _revoke_sessions(
        and_(SignInSession.id == session_id, SignInSession.user_id == caller.user.id),
        now=now,
        live_only=True,
    )
    if ended != 1:
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
    ended = _revoke_sessions(SignInSession.user_id == caller.user.id, now=now)
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
    return [SignInSession.revoked_at.is_(None), SignInSession.expires_at > now]


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
    current = is_current_refresh(claims.session_id, claims.user_id, claims.jti, clock.utcnow())
    live = db.session.scalar(select(SignInSession.id).where(*current))
    if live is None:
        raise TokenRevokedError()


def revoke_refresh_family(*, refresh_token: str) -> None:
    """End the session a refresh token belongs to (token-pair's blacklist)."""
    claims = attempts.checked_token(lambda: decode_refresh_token(refresh_token))
    if not _end_session_of(claims, via="blacklist"):
        raise TokenRevokedError()


def _end_session_of(claims: RefreshClaims, *, via: str) -> bool:
    """End the live session a refresh token's claims name, and record it; False when it had
    already ended (or is someone else's)."""
    mine = and_(SignInSession.id == claims.session_id, SignInSession.user_id == claims.user_id)
    ended = _revoke_sessions(mine, now=clock.utcnow())
    db.session.commit()
    if ended:
        audit.record(
            event="logout",
            outcome="success",
            user_id=claims.user_id,
            session_id=claims.session_id,
            details={"via": via},
        )
    return bool(ended)


def count_live_sessions(*, user_id: int) -> int:
    now = clock.utcnow()
    counted = db.session.scalar(
        select(func.count())
        .select_from(SignInSession)
        .where(SignInSession.user_id == user_id, *_is_live(now))
    )
    return int(counted or 0)


def end_user_sessions(*, user_id: int, keep_session_id: str | None = None) -> int:
    """Caller commits, with the change that ends them (a new password, a deactivation, a
    factor removed): one transaction, so a crash never keeps the old sessions alive after
    it. How many sessions ended."""
    condition = SignInSession.user_id == user_id
    if keep_session_id is not None:
        condition = condition & (SignInSession.id != keep_session_id)
    return _revoke_sessions(condition, now=clock.utcnow())


def end_one_session(*, user_id: int, session_id: str) -> int:
    """Caller commits. End the live session ``session_id`` of the user: 1, or 0 when it is
    not one."""
    condition = and_(SignInSession.id == session_id, SignInSession.user_id == user_id)
    return _revoke_sessions(condition, now=clock.utcnow(), live_only=True)


def purge_expired() -> PurgeCounts:
    """Delete sessions that expired or were revoked, and revocation rows past their expiry."""
    now = clock.utcnow()
    sessions = rows_changed(
        delete(SignInSession).where(
            or_(SignInSession.expires_at <= now, SignInSession.revoked_at.is_not(None))
        )
    )
    tokens = rows_changed(delete(RevokedToken).where(RevokedToken.expires_at <= now))
    db.session.commit()
    return PurgeCounts(sessions=sessions, revoked_tokens=tokens)


def revoke_session(*, session_id: str, now: datetime) -> None:
    """End one session at once (its tokens fail on their next use)."""
    _revoke_sessions(SignInSession.id == session_id, now=now)
    db.session.commit()


def _revoke_sessions(condition: Any, *, now: datetime, live_only: bool = False) -> int:
    """Caller commits. How many sessions this ended (``live_only``: unexpired ones); each
    user whose sessions ended gets its ``session.ended`` event."""
    unexpired = [SignInSession.expires_at > now] if live_only else []
    ended = db.session.execute(
        update(SignInSession)
        .where(condition, SignInSession.revoked_at.is_(None), *unexpired)
        .values(revoked_at=now)
        .returning(SignInSession.id, SignInSession.user_id)
        .execution_options(synchronize_session=False)
    ).all()
    by_user: dict[int, list[str]] = {}
    for session_id, user_id in ended:
        by_user.setdefault(user_id, []).append(session_id)
    for user_id, session_ids in by_user.items():
        events.emit("session.ended", user=user_id, sessionIds=sorted(session_ids))
    return len(ended)


def _revoke_token(*, jti: str, expires_at: datetime) -> None:
    """Caller commits."""
    if db.session.get(RevokedToken, jti) is None:
        db.session.add(RevokedToken(jti=jti, expires_at=expires_at))


def whole_seconds(moment: datetime) -> datetime:
    return moment.replace(microsecond=0)
