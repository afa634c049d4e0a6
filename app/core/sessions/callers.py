"""Who is calling: the one database read behind every authenticated request.

An access token is honoured only while its session is live, its user active, and the token
itself not revoked. That is checked, and the user with their roles and permissions read, in a
single statement built once at import and compiled once per database, run on the driver's
cursor outside any transaction (autocommit: no BEGIN or ROLLBACK around it) and mapped to a
``CallingUser``, the one read-only record of a user. Its fields name the columns read, so
the record and the statement cannot drift apart. Views that change the user load the ORM
object themselves.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import fields
from datetime import UTC
from datetime import datetime
from typing import Any

from sqlalchemy import Select
from sqlalchemy import bindparam
from sqlalchemy import exists
from sqlalchemy import select

from app.core.bounds import can_be_row_id
from app.core.direct_statements import DirectStatement
from app.core.direct_statements import own_transaction_engine
from app.core.models import Permission
from app.core.models import RevokedToken
from app.core.models import Role
from app.core.models import SignInSession
from app.core.models import User
from app.core.models import role_permissions
from app.core.models import user_roles


@dataclass(frozen=True)
class CallingUser:
    """A user as read for a request: the ORM ``User``'s columns of the same names (never the
    password hash), with the names of the user's roles and permissions."""

    id: int
    username: str
    email: str | None
    first_name: str | None
    last_name: str | None
    display_name: str | None
    social_links: dict[str, Any]
    locale: str | None
    client_id: int | None
    is_active: bool
    created_at: datetime
    updated_at: datetime
    email_verified_at: datetime | None
    mfa_failures: int
    role_names: tuple[str, ...]
    permission_names: tuple[str, ...]


@dataclass(frozen=True)
class Caller:
    """The user behind a verified access token, and which token and session it was."""

    user: CallingUser
    session_id: str
    token_jti: str
    token_expires_at: datetime
    # How the session's login proved who it was (the token's "amr"; "pwd" before it had one).
    methods: tuple[str, ...] = ("pwd",)


_GRANTS = ("role_names", "permission_names")
USER_COLUMNS = tuple(
    getattr(User, field.name) for field in fields(CallingUser) if field.name not in _GRANTS
)


def select_user_with_grants(*leading: Any) -> Select[Any]:
    """``leading`` columns, then the user's columns, role and permission: one row per (role,
    permission) of the user, for ``calling_user`` to fold. The caller adds the WHERE."""
    return (
        select(*leading, *USER_COLUMNS)
        .add_columns(Role.name.label("role"), Permission.name.label("permission"))
        .select_from(User)
        .outerjoin(user_roles, user_roles.c.user_id == User.id)
        .outerjoin(Role, Role.id == user_roles.c.role_id)
        .outerjoin(role_permissions, role_permissions.c.role_id == Role.id)
        .outerjoin(Permission, Permission.id == role_permissions.c.permission_id)
        .order_by(Role.id, Permission.name)
    )


def calling_user(rows: Sequence[Sequence[Any]], *, skip: int = 0) -> CallingUser:
    """The user in rows of ``select_user_with_grants``, after ``skip`` leading columns."""
    columns = [row[skip:] for row in rows]
    role, permission = len(USER_COLUMNS), len(USER_COLUMNS) + 1
    roles = tuple(dict.fromkeys(row[role] for row in columns if row[role] is not None))
    permissions = tuple(sorted({row[permission] for row in columns if row[permission] is not None}))
    user = dict(zip((column.key for column in USER_COLUMNS), columns[0], strict=False))
    return CallingUser(**user, role_names=roles, permission_names=permissions)


# None when the token is not honoured.
CALLER_READ = DirectStatement(
    select_user_with_grants()
    .join(SignInSession, SignInSession.user_id == User.id)
    .where(
        User.id == bindparam("user_id"),
        User.is_active.is_(True),
        SignInSession.id == bindparam("session_id"),
        SignInSession.revoked_at.is_(None),
        ~exists().where(RevokedToken.jti == bindparam("jti")),
    )
)


def find_caller(claims: dict[str, Any]) -> Caller | None:
    """The caller behind an access token's claims, or None if the token is not honoured."""
    sub, sid, jti, exp = claims.get("sub"), claims.get("sid"), claims.get("jti"), claims.get("exp")
    if not (isinstance(sub, str) and sub.isascii() and sub.isdigit()):
        return None
    if not (isinstance(sid, str) and isinstance(jti, str) and isinstance(exp, int)):
        return None
    if not can_be_row_id(int(sub)):
        return None
    rows = CALLER_READ.rows(
        own_transaction_engine(), {"user_id": int(sub), "session_id": sid, "jti": jti}
    )
    if not rows:
        return None
    return Caller(
        user=calling_user(rows),
        session_id=sid,
        token_jti=jti,
        token_expires_at=datetime.fromtimestamp(exp, tz=UTC),
        methods=_methods(claims.get("amr")),
    )


def _methods(amr: Any) -> tuple[str, ...]:
    if isinstance(amr, list) and amr and all(isinstance(method, str) for method in amr):
        return tuple(amr)
    return ("pwd",)
