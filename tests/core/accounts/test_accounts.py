"""Accounts: creation, authentication without enumeration, password changes, admin actions."""

import pytest

from app.core import roles
from app.core.accounts import accounts
from app.core.accounts import administration
from app.core.accounts import whitelist
from app.core.errors import AdminRegistrationDeniedError
from app.core.errors import ConflictError
from app.core.errors import InvalidCredentialsError
from app.core.errors import InvalidInputError
from app.core.errors import NotFoundError
from app.core.errors import PermissionDeniedError
from app.core.errors import WrongCurrentPasswordError
from app.core.passwords import security
from app.core.sessions import refreshes
from app.core.sessions import sessions
from app.core.sessions.callers import find_caller
from app.core.signin import authentication
from app.core.tokens.tokens import decode_any_token
from app.database import db
from tests.core.sessions.test_sessions import POLICY
from tests.factories import PASSWORD
from tests.factories import make_admin
from tests.factories import make_user
from tests.factories import signed_in_caller
from tests.factories import unique_email


def test_create_user_stores_a_salted_slow_hash_never_the_password(app_context):
    user = make_user(password=PASSWORD)

    assert PASSWORD not in user.password_hash
    assert user.password_hash.startswith("pbkdf2:sha256:1$")
    assert security.verify_password(user.password_hash, PASSWORD)


def test_create_user_lowercases_the_email_and_refuses_a_case_variant(app_context):
    make_user(email="Mixed.Case@Example.COM")

    with pytest.raises(ConflictError):
        make_user(email="mixed.case@example.com")


def test_create_user_refuses_a_taken_username(app_context):
    make_user(username="taken_name")

    with pytest.raises(ConflictError):
        make_user(username="taken_name")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "no-at-sign"}, "Not a valid email address."),
        ({"password": "short"}, "Password must be 8 to 128 characters long."),
        ({"username": "has@sign"}, "A username is 3 to 150 of a-z, 0-9, '_', '.' or '-'."),
    ],
)
def test_create_user_refuses_invalid_input(app_context, fields, message):
    with pytest.raises(InvalidInputError, match=message):
        make_user(**fields)


def test_create_user_with_an_unknown_role_is_not_found(app_context):
    with pytest.raises(NotFoundError, match="Unknown role: wizard"):
        make_user(roles=("user", "wizard"))


def test_register_user_as_admin_needs_the_whitelist(app, app_context):
    app.config["AUTH_ADMIN_REQUIRES_VERIFIED_EMAIL"] = False
    with pytest.raises(AdminRegistrationDeniedError):
        accounts.register_user(email=unique_email(), password=PASSWORD, role="admin")

    whitelist.add_email(caller=None, email="Lead@Example.com")
    user = accounts.register_user(email="lead@example.com", password=PASSWORD, role="admin")

    assert roles.role_names(user) == ["user", "admin"]


@pytest.mark.parametrize("identifier", ["login@example.com", "LOGIN@example.com", "login_name"])
def test_authenticate_accepts_email_in_any_case_or_username(app_context, identifier):
    user = make_user(email="login@example.com", username="login_name")

    assert authentication.authenticate(identifier=identifier, password=PASSWORD) == user


def test_authenticate_an_unknown_account_still_runs_one_password_check(app_context, monkeypatch):
    checks = []
    real_check = security.check_password_hash
    monkeypatch.setattr(
        security, "check_password_hash", lambda *a: checks.append(a) or real_check(*a)
    )

    with pytest.raises(InvalidCredentialsError):
        authentication.authenticate(identifier="ghost@example.com", password=PASSWORD)

    assert len(checks) == 1


def test_authenticate_refuses_wrong_password_and_inactive_user_alike(app_context):
    user = make_user()
    with pytest.raises(InvalidCredentialsError) as wrong:
        authentication.authenticate(identifier=user.email, password="wrong password")
    user.is_active = False
    db.session.commit()
    with pytest.raises(InvalidCredentialsError) as inactive:
        authentication.authenticate(identifier=user.email, password=PASSWORD)

    assert wrong.value.message == inactive.value.message


def test_change_password_keeps_the_calling_session_and_ends_the_others(app_context):
    user = make_user()
    kept = sessions.open_session(user=user, dialect="blog", policy=POLICY)
    other = sessions.open_session(user=user, dialect="blog", policy=POLICY)
    caller = find_caller(decode_any_token(kept.access_token))

    accounts.change_password(
        caller=caller, current_password=PASSWORD, new_password="a brand new secret"
    )

    assert authentication.authenticate(identifier=user.email, password="a brand new secret") == user
    with pytest.raises(InvalidCredentialsError):
        authentication.authenticate(identifier=user.email, password=PASSWORD)
    assert refreshes.rotate_refresh(refresh_token=kept.refresh_token, policy=POLICY)
    with pytest.raises(Exception, match="revoked"):
        refreshes.rotate_refresh(refresh_token=other.refresh_token, policy=POLICY)


def test_change_password_with_a_wrong_current_password_changes_nothing(app_context):
    user = make_user()

    with pytest.raises(WrongCurrentPasswordError):
        accounts.change_password(
            caller=signed_in_caller(user), current_password="nope nope", new_password="x" * 12
        )

    assert authentication.authenticate(identifier=user.email, password=PASSWORD) == user


def test_list_users_pages_in_id_order(app_context):
    admin = make_admin()
    created = [make_user() for _ in range(4)]

    page = administration.list_users(actor=admin, page=2, per_page=2)

    assert [u.id for u in page.users] == [created[1].id, created[2].id]
    assert page.total == 5


def test_admin_actions_refuse_a_plain_user(app_context):
    actor, target = make_user(), make_user()
    caller = signed_in_caller(actor)

    with pytest.raises(PermissionDeniedError):
        administration.list_users(actor=actor, page=1, per_page=10)
    with pytest.raises(PermissionDeniedError):
        administration.update_user(caller=caller, user_id=target.id, role="admin")
    with pytest.raises(PermissionDeniedError):
        administration.delete_user(caller=caller, user_id=target.id)


def test_set_role_keeps_roles_beyond_user_and_admin(app_context):
    roles.create_role(name="editor", permissions=["news:write"])
    admin = make_admin()
    target = make_user(roles=("user", "editor", "admin"))

    administration.update_user(caller=signed_in_caller(admin), user_id=target.id, role="user")

    assert roles.role_names(target) == ["user", "editor"]
