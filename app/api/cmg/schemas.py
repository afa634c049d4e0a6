"""Load and dump schemas of the CMG API."""

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from app.api.fields import AccountEmail
from app.api.fields import Password
from app.api.fields import Timestamp
from app.core import roles

_LENGTH = "Must be {min} to {max} characters."


class LoginSchema(Schema):
    identifier = fields.String(
        required=True, data_key="username", validate=validate.Length(min=1, max=254, error=_LENGTH)
    )
    password = Password(required=True, validate=validate.Length(min=1, error="Must not be empty."))


class TokenSchema(Schema):
    access_token = fields.String()
    expires_in = fields.Integer(attribute="access_expires_in")


class MeSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    email = AccountEmail()
    role = fields.Function(lambda user: roles.primary_role(user).upper())
    client_id = fields.Integer(data_key="clientId", allow_none=True)
    created_at = Timestamp(data_key="createdAt")


class ErrorSchema(Schema):
    statusCode = fields.Integer(required=True)
    message = fields.String(required=True)
    error = fields.String(required=True)


class MessageSchema(Schema):
    message = fields.String(required=True)
