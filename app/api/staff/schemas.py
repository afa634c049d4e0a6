"""Load and dump schemas of the staff API."""

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from app.api.fields import AccountEmail
from app.api.fields import JsonBoolean
from app.api.fields import Password
from app.core import roles


class LoginSchema(Schema):
    identifier = fields.String(
        required=True,
        data_key="username",
        validate=validate.Length(min=1, max=254),
        error_messages={"required": "Username is required."},
    )
    password = Password(
        required=True,
        validate=validate.Length(min=1),
        error_messages={"required": "Password is required."},
    )


class ChangePasswordSchema(Schema):
    current_password = Password(
        required=True,
        data_key="currentPassword",
        error_messages={"required": "Current password is required."},
    )
    new_password = Password(
        required=True,
        data_key="newPassword",
        error_messages={"required": "New password is required."},
    )


class LoginUserSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    roles = fields.Function(roles.role_names)


class LoggedInSchema(Schema):
    token = fields.String(attribute="tokens.access_token")
    user = fields.Nested(LoginUserSchema)


class CheckedUserSchema(LoginUserSchema):
    email = AccountEmail()
    display_name = fields.String(data_key="displayName", allow_none=True)
    permissions = fields.Function(roles.permission_names)

    class Meta:
        ordered = True
        fields = ("id", "username", "email", "display_name", "roles", "permissions")


class CheckedSchema(Schema):
    authenticated = fields.Constant(True)
    user = fields.Nested(CheckedUserSchema())  # built at import, not by the first request


class ErrorSchema(Schema):
    error = fields.String(required=True)


class SuccessSchema(Schema):
    success = JsonBoolean(required=True)


class NotAuthenticatedSchema(Schema):
    authenticated = JsonBoolean(required=True)
