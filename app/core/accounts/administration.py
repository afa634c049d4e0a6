"""Administration of other accounts: an admin's, through the API after a recent proof of who
they are (a ``Caller``), or the host operator's, at the CLI (no caller; audited as ``cli``).

Every action here passes ``step_up.require_admin`` and ``_administered_user`` (an admin never
acts on their own account here), commits once, and is audited with who acted.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy import func
from sqlalchemy import or_
from sqlalchemy import select

from app.core import attempts
from app.core import roles
from app.core.accounts import accounts
from app.core.accounts import self_service
from app.core.accounts.accounts import UserPage
from app.core.accounts.accounts import lock_admins
from app.core.accounts.accounts import require_an_active_admin
from app.core.bounds import can_be_row_id
from app.core.errors import InvalidInputError
from app.core.errors import NotFoundError
from app.core.errors import PermissionDeniedError
from app.core.factors import mfa_lock
from app.core.factors import second_factor
from app.core.factors import step_up
from app.core.hooks import events
from app.core.models import OidcIdentity
from app.core.models import Role
from app.core.models import SignInSession
from app.core.models import User
from app.core.sessions import sessions
from app.core.sessions.callers import Caller
from app.database import db
from app.database import one_page

# What ``status`` filters a user list by.
STATUSES = ("active", "inactive", "unverified", "locked")


@dataclass(frozen=True)
class UserFilter:
    """Which users a list shows: ``query`` is part of an email, username or display name."""

    query: str | None = None
    role: str | None = None
    status: str | None = None


@dataclass(frozen=True)
class AdminUserPage(UserPage):
    # Which users of the page have a second factor.
    second_factor_ids: frozenset[int] = frozenset()


def list_users(
    *, actor: roles.Actor, page: int, per_page: int, filters: UserFilter | None = None
) -> AdminUserPage:
    """One page of users in id order, narrowed by ``filters``."""
    roles.require_role(actor, roles.ADMIN)
    query = select(User).where(*_conditions(filters or UserFilter())).order_by(User.id)
    users, total = one_page(query, page=page, per_page=per_page)
    with_factor = second_factor.users_with_second_factor([user.id for user in users])
    return AdminUserPage(
        users=users,
        page=page,
        per_page=per_page,
        total=total,
        second_factor_ids=frozenset(with_factor),
    )


def _conditions(filters: UserFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if filters.query:
        pattern = "%" + _escaped(filters.query.strip().lower()) + "%"
        conditions.append(
            or_(
                User.email.like(pattern, escape="\\"),
                User.username.like(pattern, escape="\\"),
                func.lower(User.display_name).like(pattern, escape="\\"),
            )
        )
    if filters.role:
        conditions.append(User.roles.any(Role.name == filters.role))
    if filters.status is not None:
        conditions.append(_status_condition(filters.status))
    return conditions


def _escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _status_condition(status: str) -> ColumnElement[bool]:
    if status == "active":
        return User.is_active.is_(True)
    if status == "inactive":
        return User.is_active.is_(False)
    if status == "unverified":
        return User.email_verified_at.is_(None)
    if status == "locked":
        return User.mfa_failures >= mfa_lock.max_failures()
    raise InvalidInputError(f"Unknown status {status!r}: one of {', '.join(STATUSES)}.")


@dataclass(frozen=True)
class UserDetail:
    """A user as an admin's page about them shows it (never a hash, secret or code)."""

    user: User
    second_factors: self_service.SecondFactors
    identities: Sequence[OidcIdentity]
    live_sessions: int


def find_user(*, actor: roles.Actor, user_id: int) -> User:
    """One user, for an admin to look at."""
    roles.require_role(actor, roles.ADMIN)
    user = db.session.get(User, user_id) if can_be_row_id(user_id) else None
    if user is None:
        raise NotFoundError("User not found.")
    return user


def describe_user(*, actor: roles.Actor, user_id: int) -> UserDetail:
    """One user with their second factors, linked identities and how many live sessions."""
    user = find_user(actor=actor, user_id=user_id)
    return UserDetail(
        user=user,
        second_factors=self_service.second_factors_of(user_id=user.id),
        identities=self_service.identities_of(user_id=user.id),
        live_sessions=sessions.count_live_sessions(user_id=user.id),
    )


def update_user(
    *,
    caller: Caller | None,
    user_id: int,
    role: str | None = None,
    role_names: Sequence[str] | None = None,
    is_active: bool | None = None,
    mfa: bool | None = None,
    mfa_locked: bool | None = None,
) -> User:
    """A change to another user, in one transaction: the primary ``role`` (admin or user,
    other roles kept) or exactly ``role_names``, the active flag, the removal of every second
    factor (``mfa=False``) and the unlocking of the second step (``mfa_locked=False``). A
    deactivation or a removal of factors ends every session of the user with it.

    A demotion needs no revocation: roles are read from the database on every request.
    """
    actor = _actor_after_step_up(caller)
    if role_names is not None and not role_names:
        raise InvalidInputError("A user needs at least one role.")
    removes_power = (
        role == roles.USER
        or (role_names is not None and roles.ADMIN not in role_names)
        or is_active is False
    )
    if removes_power:
        lock_admins()
    user = _administered_user(actor, user_id)
    removes_power = removes_power and accounts.is_active_admin(user)
    if role is not None:
        roles.set_primary_role(user, role)
    if role_names is not None:
        user.roles = roles.find_roles(role_names)
    if is_active is not None:
        user.is_active = is_active
    if mfa is False:
        second_factor.remove_factors(user_id=user.id)
    if mfa is False or mfa_locked is False:
        mfa_lock.clear(user_id=user.id)
    if removes_power:
        require_an_active_admin()
    if is_active is False or mfa is False:
        sessions.end_user_sessions(user_id=user.id)
    if mfa is False:
        second_factor.notify_owner(user_id=user.id, event="mfa_disabled")
    changed = _changed_fields(
        roles_changed=role is not None or role_names is not None, is_active=is_active
    )
    if changed:
        events.emit("user.updated", user=user, fields=changed)
    db.session.commit()
    record = partial(step_up.record_admin_change, caller=caller, target_user_id=user.id)
    if mfa is False:
        record(event="mfa_disabled", details={"method": "all"})
    if mfa_locked is False:
        record(event="mfa_unlocked")
    changes = {"role": role, "roles": role_names, "is_active": is_active}
    record(event="user_updated", details={"target_user_id": user.id} | _present(changes))
    return user


def _changed_fields(*, roles_changed: bool, is_active: bool | None) -> list[str]:
    changed = (("roles", roles_changed), ("isActive", is_active is not None))
    return [name for name, did_change in changed if did_change]


def _present(values: dict[str, Any]) -> dict[str, Any]:
    return {
        key: list(value) if isinstance(value, list | tuple) else value
        for key, value in values.items()
        if value is not None
    }


def delete_user(*, caller: Caller | None, user_id: int) -> None:
    """The deletion of another user; never of the last active admin."""
    actor = _actor_after_step_up(caller)
    lock_admins()
    accounts.remove_account(_administered_user(actor, user_id))
    db.session.commit()
    step_up.record_admin_change(
        caller=caller,
        event="user_deleted",
        target_user_id=user_id,
        details={"target_user_id": user_id},
    )


def unlock_user(*, caller: Caller | None, user_id: int) -> None:
    """Clear what locks a user out after failed attempts: the failure budgets of the
    account (every address's) and the lock on its second step. Its factors stay."""
    actor = _actor_after_step_up(caller)
    user = _administered_user(actor, user_id)
    mfa_lock.clear(user_id=user.id)
    db.session.commit()
    attempts.forget_account_failures(account=f"user:{user.id}")
    step_up.record_admin_change(caller=caller, event="account_unlocked", target_user_id=user.id)


def list_user_sessions(*, actor: roles.Actor, user_id: int) -> Sequence[SignInSession]:
    """The user's live sessions, most recently used first."""
    user = find_user(actor=actor, user_id=user_id)
    return sessions.live_sessions_of(user_id=user.id)


def end_user_sessions(*, caller: Caller | None, user_id: int, session_id: str | None = None) -> int:
    """End one session of the user (``session_id``) or all of them; how many ended. An id
    that is not a live session of this user is not found."""
    actor = _actor_after_step_up(caller)
    user = _administered_user(actor, user_id)
    if session_id is None:
        ended = sessions.end_user_sessions(user_id=user.id)
    else:
        ended = sessions.end_one_session(user_id=user.id, session_id=session_id)
        if not ended:
            db.session.rollback()
            raise NotFoundError("Session not found.")
    db.session.commit()
    details: dict[str, Any] = {"sessions": ended}
    if session_id is not None:
        details["session_id"] = session_id
    step_up.record_admin_change(
        caller=caller, event="sessions_ended", target_user_id=user.id, details=details
    )
    return ended


def _actor_after_step_up(caller: Caller | None) -> roles.Actor | None:
    """The admin behind ``caller``, who proved who they are recently enough to change
    another account; None for the operator at the CLI."""
    step_up.require_admin(caller=caller)
    return None if caller is None else caller.user


def _administered_user(actor: roles.Actor | None, user_id: int) -> User:
    found = can_be_row_id(user_id)
    # Read again even if this request loaded it: the admins' lock may have waited on a change.
    user = db.session.get(User, user_id, populate_existing=True) if found else None
    if user is None:
        raise NotFoundError("User not found.")
    if actor is not None and user.id == actor.id:
        # An admin locking themselves out could leave the service with no admin at all.
        raise PermissionDeniedError("Admins cannot change or delete their own account here.")
    return user
