"""A user is dumped from the ORM ``User`` (admin pages, login) and from the request's
``CallingUser`` (the "me" endpoints): every schema that dumps a user must find every one of
its fields on both, or marshmallow silently leaves the field out of one of them."""

import importlib
import pkgutil
from dataclasses import fields
from datetime import timedelta
from pathlib import Path

import pytest
from flask_jwt_extended import decode_token
from marshmallow import Schema

import app.api
from app.core.models import User
from app.core.sessions import callers
from app.core.sessions import sessions
from app.core.tokens.tokens import TokenPolicy
from app.database import db
from tests.factories import make_admin

POLICY = TokenPolicy(access_ttl=timedelta(minutes=15), refresh_ttl=timedelta(days=7))


def _user_schemas() -> list[type[Schema]]:
    """Every schema of every dialect whose name says it dumps a user."""
    found: dict[str, type[Schema]] = {}
    for module_info in pkgutil.walk_packages(app.api.__path__, "app.api."):
        if not module_info.name.endswith(".schemas"):
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            is_schema = isinstance(value, type) and issubclass(value, Schema)
            dumps_a_user = name.endswith(("UserSchema", "MeSchema"))
            if is_schema and dumps_a_user and value.__module__ == module.__name__:
                found[f"{module.__name__}.{name}"] = value
    return [found[name] for name in sorted(found)]


USER_SCHEMAS = _user_schemas()


def test_the_walk_finds_the_user_schemas_of_every_dialect_that_dumps_users():
    modules = {schema.__module__ for schema in USER_SCHEMAS}
    dialects = {"blog", "staff", "token_pair", "cmg"}
    assert {f"app.api.{dialect}.schemas" for dialect in dialects} <= modules


def test_the_calling_user_record_reads_the_columns_of_the_same_names():
    grants = {"role_names", "permission_names"}
    record = [field.name for field in fields(callers.CallingUser) if field.name not in grants]

    assert [column.key for column in callers.USER_COLUMNS] == record
    assert "password_hash" not in record


@pytest.mark.parametrize("schema_class", USER_SCHEMAS, ids=lambda schema: schema.__name__)
def test_a_user_schema_dumps_every_field_the_same_from_the_orm_user_and_the_calling_user(
    app_context, schema_class
):
    user = make_admin(display_name="Ada L.")
    user.first_name, user.last_name = "Ada", "Lovelace"
    user.social_links = {"site": "https://example.com/ada"}
    db.session.commit()
    tokens = sessions.open_session(user=user, dialect="blog", policy=POLICY)
    calling_user = callers.find_caller(decode_token(tokens.access_token)).user
    orm_user = db.session.get(User, user.id)
    schema = schema_class()

    from_orm, from_record = schema.dump(orm_user), schema.dump(calling_user)

    every_field = {field.data_key or name for name, field in schema.dump_fields.items()}
    assert set(from_orm) == every_field
    assert set(from_record) == every_field
    assert from_orm == from_record


def test_the_readme_names_every_field_of_current_user():
    readme = (Path(__file__).parents[2] / "README.md").read_text()

    for field in fields(callers.CallingUser):
        assert f"`{field.name}`" in readme, field.name
