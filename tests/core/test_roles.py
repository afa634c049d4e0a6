"""Roles and permissions; admin holds every permission."""

import pytest

from app.core import roles
from app.core.errors import ConflictError
from app.core.errors import InvalidInputError
from tests.factories import make_admin
from tests.factories import make_user


def test_the_migration_seeds_user_and_admin(app_context):
    assert [r.name for r in roles.find_roles(["user", "admin"])] == ["user", "admin"]


def test_a_new_roles_permissions_are_granted_to_admin_too(app_context):
    roles.create_role(name="editor", permissions=["news:read", "news:write"])

    assert roles.permission_names(make_admin()) == [
        "news:read",
        "news:write",
        "users:read",
        "users:write",
    ]


def test_permissions_are_the_union_of_the_users_roles(app_context):
    roles.create_role(name="editor", permissions=["news:write", "news:read"])
    roles.create_role(name="viewer", permissions=["news:read", "actions:read"])

    user = make_user(roles=("user", "editor", "viewer"))

    assert roles.permission_names(user) == ["actions:read", "news:read", "news:write"]


def test_create_role_refuses_a_duplicate(app_context):
    with pytest.raises(ConflictError):
        roles.create_role(name="admin")


@pytest.mark.parametrize(("name", "permission"), [("Bad Name", "x:y"), ("ok", "Bad Perm")])
def test_create_role_refuses_bad_names(app_context, name, permission):
    with pytest.raises(InvalidInputError):
        roles.create_role(name=name, permissions=[permission])


def test_primary_role_is_admin_only_for_admins(app_context):
    assert roles.primary_role(make_user()) == "user"
    assert roles.primary_role(make_admin()) == "admin"
