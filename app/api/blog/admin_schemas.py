"""Load and dump schemas of the blog API's administration endpoints (admins only)."""

from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import post_dump
from marshmallow import post_load
from marshmallow import validate
from marshmallow import validates_schema

from app.api.blog.account_schemas import SecondFactorsExportSchema
from app.api.blog.schemas import PLATFORM
from app.api.blog.schemas import AdminUserSchema
from app.api.blog.schemas import IdentitySchema
from app.api.blog.schemas import PageQuerySchema
from app.api.blog.schemas import UserPageSchema
from app.api.fields import JsonBoolean
from app.api.fields import Timestamp
from app.core import roles
from app.core.accounts import administration
from app.core.audit import audit
from app.core.bounds import MAX_INTEGER

_ROLE_NAME = validate.Regexp(r"^[a-z][a-z0-9_-]{0,49}$", error="Not a role name.")


class UserQuerySchema(PageQuerySchema):
    query = fields.String(
        data_key="q",
        validate=validate.Length(min=1, max=254),
        metadata={"description": "Part of the email, username or display name"},
    )
    role = fields.String(validate=_ROLE_NAME, metadata={"description": "Holders of this role"})
    status = fields.String(validate=validate.OneOf(administration.STATUSES))

    @post_load
    def gather_filters(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        names = ("query", "role", "status")
        filters = administration.UserFilter(**{name: data.pop(name, None) for name in names})
        return data | {"filters": filters}


class UserRowSchema(AdminUserSchema):
    roles = fields.List(fields.String(), attribute="role_names")
    last_sign_in_at = Timestamp(data_key="lastSignInAt", allow_none=True)
    mfa_enabled = JsonBoolean(
        data_key="mfaEnabled", dump_only=True, metadata={"description": "Has a second factor"}
    )


class AdminUserPageSchema(UserPageSchema):
    users = fields.List(fields.Nested(UserRowSchema))

    @post_dump(pass_original=True)
    def mark_second_factors(
        self, data: dict[str, Any], page: administration.AdminUserPage, **_kwargs: Any
    ) -> dict[str, Any]:
        for row, user in zip(data["users"], page.users, strict=True):
            row["mfaEnabled"] = user.id in page.second_factor_ids
        return data


class UserDetailSchema(Schema):
    user = fields.Nested(UserRowSchema)
    second_factors = fields.Nested(SecondFactorsExportSchema, data_key="secondFactors")
    identities = fields.List(fields.Nested(IdentitySchema))
    live_sessions = fields.Integer(data_key="liveSessions")

    @post_dump(pass_original=True)
    def mark_second_factor(
        self, data: dict[str, Any], detail: administration.UserDetail, **_kwargs: Any
    ) -> dict[str, Any]:
        factors = detail.second_factors
        data["user"]["mfaEnabled"] = factors.totp_enabled or bool(factors.passkeys)
        return data


class UserUpdateSchema(Schema):
    role = fields.String(validate=validate.OneOf([roles.USER, roles.ADMIN]))
    role_names = fields.List(
        fields.String(validate=_ROLE_NAME),
        data_key="roles",
        validate=validate.Length(min=1, max=50),
        metadata={"description": "Exactly these roles (custom ones too), replacing the user's"},
    )
    is_active = JsonBoolean(data_key="isActive")
    mfa = JsonBoolean(
        validate=validate.Equal(False, error="An admin can only remove a second factor."),
        metadata={"description": "false removes every second factor of the user."},
    )
    mfa_locked = JsonBoolean(
        data_key="mfaLocked",
        validate=validate.Equal(False, error="An admin can only unlock a second step."),
        metadata={
            "description": "false unlocks the user's second step after too many wrong codes; "
            "their factors stay."
        },
    )

    @validates_schema
    def require_one_change(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if not data:
            raise ValidationError("Provide at least one of: role, roles, isActive, mfa, mfaLocked.")
        if "role" in data and "role_names" in data:
            raise ValidationError("Give role or roles, not both.")


class UserSessionSchema(Schema):
    id = fields.String()
    dialect = fields.String()
    created_at = Timestamp(data_key="createdAt")
    last_used_at = Timestamp(data_key="lastUsedAt")
    expires_at = Timestamp(data_key="expiresAt")
    user_agent = fields.String(data_key="userAgent", allow_none=True)
    ip = fields.String(allow_none=True)
    client_type = fields.String(data_key="clientType")
    device_name = fields.String(data_key="deviceName", allow_none=True)
    platform = PLATFORM
    methods = fields.Function(
        lambda session: (session.amr or "pwd").split(),
        metadata={"description": "How the login proved who it was (RFC 8176 values)"},
    )


class UserSessionListSchema(Schema):
    sessions = fields.List(fields.Nested(UserSessionSchema))


class SessionsEndedSchema(Schema):
    message = fields.Constant("Sessions ended")
    ended = fields.Integer()


class ClientSchema(Schema):
    client_id = fields.String(data_key="clientId")
    name = fields.String()
    is_active = JsonBoolean(data_key="isActive")
    key_version = fields.Integer(data_key="keyVersion")
    created_at = Timestamp(data_key="createdAt")


class ClientListSchema(Schema):
    clients = fields.List(fields.Nested(ClientSchema))


class ClientCreateSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=150))


class ClientCredentialsSchema(Schema):
    client_id = fields.String(data_key="clientId")
    client_key = fields.String(data_key="clientKey", metadata={"description": "Shown only once"})
    name = fields.String()


class RoleSchema(Schema):
    name = fields.String()
    permissions = fields.Function(lambda role: sorted(p.name for p in role.permissions))


class RoleListSchema(Schema):
    roles = fields.List(fields.Nested(RoleSchema))


_PERMISSION_NAME = validate.Regexp(r"^[a-z][a-z0-9_.:-]{0,99}$", error="Not a permission name.")


class RoleCreateSchema(Schema):
    name = fields.String(required=True, validate=_ROLE_NAME)
    permissions = fields.List(
        fields.String(validate=_PERMISSION_NAME),
        load_default=list,
        validate=validate.Length(max=100),
    )


class RoleUpdateSchema(Schema):
    permissions = fields.List(
        fields.String(validate=_PERMISSION_NAME),
        required=True,
        validate=validate.Length(max=100),
        metadata={"description": "Exactly these permissions, replacing the role's"},
    )


class AuditFilterSchema(Schema):
    user_id = fields.Integer(data_key="user", validate=validate.Range(min=1, max=MAX_INTEGER))
    event = fields.String(validate=validate.OneOf(audit.EVENTS))
    outcome = fields.String(validate=validate.OneOf(audit.OUTCOMES))
    since = fields.AwareDateTime(data_key="from", format="iso")
    until = fields.AwareDateTime(data_key="to", format="iso")

    @post_load
    def gather_filters(self, data: dict[str, Any], **_kwargs: Any) -> dict[str, Any]:
        names = ("user_id", "event", "outcome", "since", "until")
        filters = audit.EventFilter(**{name: data.pop(name, None) for name in names})
        return data | {"filters": filters}


class AuditQuerySchema(PageQuerySchema, AuditFilterSchema):
    pass


class UserMailSchema(Schema):
    kind = fields.String(
        required=True,
        validate=validate.OneOf(["verification", "password_reset"]),
        metadata={
            "description": "verification: a new link to verify the address; "
            "password_reset: a link to set a new password"
        },
    )


class WhitelistEntrySchema(Schema):
    email = fields.String()
    source = fields.String(
        metadata={"description": "table (editable here) or configuration (ADMIN_EMAIL_WHITELIST)"}
    )


class WhitelistSchema(Schema):
    entries = fields.List(fields.Nested(WhitelistEntrySchema))


class WhitelistAddSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))


class DashboardBucketSchema(Schema):
    start = Timestamp()
    sign_ins = fields.Integer(data_key="signIns")
    failures = fields.Integer(metadata={"description": "Failed sign-ins"})
    refused = fields.Integer(
        metadata={"description": "Refused credential and token checks of every kind"}
    )
    new_users = fields.Integer(data_key="newUsers")


class DashboardSchema(Schema):
    generated_at = Timestamp(data_key="generatedAt")
    hourly = fields.List(
        fields.Nested(DashboardBucketSchema),
        metadata={"description": "The last 24 UTC hours, oldest first"},
    )
    daily = fields.List(
        fields.Nested(DashboardBucketSchema),
        metadata={"description": "The last 30 UTC days, oldest first"},
    )
    users = fields.Integer()
    active_users = fields.Integer(data_key="activeUsers")
    with_second_factor = fields.Integer(data_key="withSecondFactor")
