"""Load and dump schemas of the token-pair API, with DRF's field messages."""

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from app.api.fields import AccountEmail
from app.api.fields import Password
from app.core import roles


def _required_string(
    max_length: int, *, data_key: str | None = None, load_only: bool = False
) -> fields.String:
    return fields.String(
        required=True,
        validate=validate.Length(min=1, max=max_length, error="This field may not be blank."),
        data_key=data_key,
        load_only=load_only,
    )


class ObtainSchema(Schema):
    identifier = _required_string(254, data_key="username")
    password = Password(
        required=True, validate=validate.Length(min=1, error="This field may not be blank.")
    )


class RefreshSchema(Schema):
    refresh = _required_string(4096, load_only=True)


class VerifySchema(Schema):
    token = _required_string(4096, load_only=True)


class PairSchema(Schema):
    refresh = fields.String(attribute="refresh_token")
    access = fields.String(attribute="access_token")


class RefreshedSchema(Schema):
    access = fields.String(attribute="access_token")
    refresh = fields.String(attribute="refresh_token")


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    email = AccountEmail()
    first_name = fields.String(allow_none=True)
    last_name = fields.String(allow_none=True)
    roles = fields.Function(roles.role_names)


class DetailSchema(Schema):
    detail = fields.String(required=True)
    code = fields.String()


class EmptySchema(Schema):
    pass


# A 400 is DRF's field errors, {"field": ["message", ...]}, or, for a body that is not a JSON
# object at all, {"detail": "..."}.
BAD_REQUEST = {
    "anyOf": [
        {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}}},
        {
            "type": "object",
            "required": ["detail"],
            "properties": {"detail": {"type": "string"}},
        },
    ]
}
