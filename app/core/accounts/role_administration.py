"""Roles and their permissions, changed by an admin after a step-up (or the CLI's operator).

A change reaches every holder at once: roles and permissions are read from the database on
every request. The built-in roles stay: ``user`` and ``admin`` cannot be deleted, and
``admin`` holds every permission, so its permissions are not edited.
"""

from collections.abc import Iterable

from app.core import roles
from app.core.errors import PermissionDeniedError
from app.core.factors import step_up
from app.core.models import Role
from app.core.sessions.callers import Caller
from app.database import db


def create_role(*, caller: Caller | None, name: str, permissions: Iterable[str] = ()) -> Role:
    step_up.require_admin(caller=caller)
    role = roles.create_role(name=name, permissions=permissions)
    _record(caller, "role_created", role)
    return role


def update_role(*, caller: Caller | None, name: str, permissions: Iterable[str]) -> Role:
    """Exactly these permissions for the role."""
    step_up.require_admin(caller=caller)
    role = roles.find_role(name)
    roles.set_permissions(role, permissions)
    db.session.commit()
    _record(caller, "role_updated", role)
    return role


def delete_role(*, caller: Caller | None, name: str) -> None:
    """Delete a role of the team's own; its holders lose it at once."""
    step_up.require_admin(caller=caller)
    if name in roles.BUILT_IN:
        raise PermissionDeniedError(f"The built-in role {name!r} cannot be deleted.")
    role = roles.find_role(name)
    db.session.delete(role)
    db.session.commit()
    step_up.record_admin_change(caller=caller, event="role_deleted", details={"role": name})


def _record(caller: Caller | None, event: str, role: Role) -> None:
    permissions = [permission.name for permission in role.permissions]
    step_up.record_admin_change(
        caller=caller, event=event, details={"role": role.name, "permissions": permissions}
    )
