"""Load and dump schemas of the blog API's account self-service."""

from marshmallow import Schema
from marshmallow import fields
from marshmallow import validate

from app.api.blog.schemas import AuditEventSchema
from app.api.blog.schemas import IdentitySchema
from app.api.blog.schemas import PasskeySchema
from app.api.blog.schemas import SessionSchema
from app.api.blog.schemas import UserSchema
from app.api.fields import JsonBoolean
from app.api.fields import Password
from app.api.fields import Timestamp

MAX_SOCIAL_LINKS = 20


class ProfileUpdateSchema(Schema):
    username = fields.String(validate=validate.Length(min=3, max=150))
    first_name = fields.String(
        data_key="firstName", allow_none=True, validate=validate.Length(max=100)
    )
    last_name = fields.String(
        data_key="lastName", allow_none=True, validate=validate.Length(max=100)
    )
    display_name = fields.String(
        data_key="displayName", allow_none=True, validate=validate.Length(max=150)
    )
    social_links = fields.Dict(
        data_key="socialLinks",
        keys=fields.String(validate=validate.Length(min=1, max=32)),
        values=fields.Url(schemes={"http", "https"}, validate=validate.Length(max=2048)),
        validate=validate.Length(max=MAX_SOCIAL_LINKS),
        metadata={"description": "Name -> http(s) URL, at most 20"},
    )
    locale = fields.String(
        allow_none=True,
        validate=validate.Length(min=1, max=35),
        metadata={"description": "A BCP 47 language tag (en, pt-BR): the language of mails"},
    )


class EmailChangeSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = Password(
        metadata={
            "description": "The current password, as this action's proof of who is calling; "
            "without it, a recent one is needed (POST /auth/reauthenticate)."
        }
    )


class EmailChangedSchema(Schema):
    message = fields.Constant("Email changed")
    user = fields.Nested(UserSchema)


class SecondFactorsExportSchema(Schema):
    totp = JsonBoolean(attribute="totp_enabled")
    recovery_codes_left = fields.Integer(data_key="recoveryCodesLeft")
    passkeys = fields.List(fields.Nested(PasskeySchema))


class AccountExportSchema(Schema):
    exported_at = Timestamp(data_key="exportedAt")
    user = fields.Nested(UserSchema)
    sessions = fields.List(fields.Nested(SessionSchema))
    second_factors = fields.Nested(SecondFactorsExportSchema, data_key="secondFactors")
    identities = fields.List(fields.Nested(IdentitySchema))
    events = fields.List(
        fields.Nested(AuditEventSchema),
        metadata={"description": "The newest 1,000 auth events of the account"},
    )
