"""Roles and permissions. The role ``admin`` holds every permission there is."""

import re
from collections.abc import Iterable
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.core.errors import ConflictError
from app.core.errors import InvalidInputError
from app.core.errors import NotFoundError
from app.core.errors import PermissionDeniedError
from app.core.models import Permission
from app.core.models import Role
from app.core.models import User
from app.database import db

ADMIN = "admin"
USER = "user"

_ROLE_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,49}$")
_PERMISSION_NAME = re.compile(r"^[a-z][a-z0-9_.:-]{0,99}$")


BUILT_IN = (USER, ADMIN)


def create_role(*, name: str, permissions: Iterable[str] = ()) -> Role:
    if not _ROLE_NAME.match(name):
        raise InvalidInputError(f"Invalid role name {name!r}: use a-z, 0-9, '_' or '-'.")
    if db.session.scalar(select(Role).where(Role.name == name)) is not None:
        raise ConflictError(f"Role {name!r} already exists.")
    role = Role(name=name, permissions=_permissions(permissions))
    db.session.add(role)
    try:
        db.session.commit()
    except IntegrityError as error:  # made by someone else in the same instant
        db.session.rollback()
        raise ConflictError(f"Role {name!r} already exists.") from error
    return role


def set_permissions(role: Role, permissions: Iterable[str]) -> None:
    """Caller commits. Exactly these permissions for ``role`` (never ``admin``'s, which holds
    every permission there is)."""
    if role.name == ADMIN:
        raise PermissionDeniedError("The admin role holds every permission; it is not edited.")
    role.permissions = _permissions(permissions)


def find_role(name: str) -> Role:
    role = db.session.scalar(select(Role).where(Role.name == name))
    if role is None:
        raise NotFoundError(f"Unknown role: {name}.")
    return role


def _permissions(names: Iterable[str]) -> list[Permission]:
    return [_get_or_add_permission(name) for name in sorted(set(names))]


def list_roles(*, actor: "Actor") -> list[Role]:
    """Every role with its permissions, in the order they were made (admins only)."""
    require_role(actor, ADMIN)
    return all_roles()


def all_roles() -> list[Role]:
    return list(db.session.scalars(select(Role).order_by(Role.id)))


def find_roles(names: Iterable[str]) -> list[Role]:
    wanted = set(names)
    roles = list(db.session.scalars(select(Role).where(Role.name.in_(wanted)).order_by(Role.id)))
    missing = wanted - {role.name for role in roles}
    if missing:
        raise NotFoundError(f"Unknown role: {', '.join(sorted(missing))}.")
    return roles


class Actor(Protocol):
    """A user as the role checks see it: an ORM ``User`` or a request's ``CallingUser``."""

    @property
    def id(self) -> int: ...

    @property
    def role_names(self) -> Sequence[str]: ...

    @property
    def permission_names(self) -> Sequence[str]: ...


def role_names(user: Actor) -> list[str]:
    return list(user.role_names)


def has_role(user: Actor, name: str) -> bool:
    return name in user.role_names


def primary_role(user: Actor) -> str:
    """The single role of the documents that know only ``user`` and ``admin``."""
    return ADMIN if has_role(user, ADMIN) else USER


def permission_names(user: Actor) -> list[str]:
    return list(user.permission_names)


def require_role(user: Actor, name: str) -> None:
    if not has_role(user, name):
        raise PermissionDeniedError()


def set_primary_role(user: User, name: str) -> None:
    """Make ``user`` an admin or a plain user, keeping any other roles. Caller commits."""
    keep = [role for role in user.roles if role.name not in (ADMIN, USER)]
    wanted = [USER, ADMIN] if name == ADMIN else [USER]
    user.roles = find_roles(wanted) + keep


def _get_or_add_permission(name: str) -> Permission:
    """Caller commits. A new permission is granted to ``admin`` too."""
    if not _PERMISSION_NAME.match(name):
        raise InvalidInputError(f"Invalid permission name {name!r}.")
    permission = db.session.scalar(select(Permission).where(Permission.name == name))
    if permission is None:
        permission = Permission(name=name)
        db.session.add(permission)
        admin = db.session.scalar(select(Role).where(Role.name == ADMIN))
        if admin is not None:
            admin.permissions.append(permission)
    return permission
