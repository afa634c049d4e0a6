"""Load and dump schemas of the blog API."""

from typing import Any

from marshmallow import Schema
from marshmallow import ValidationError
from marshmallow import fields
from marshmallow import validate
from marshmallow import validates_schema

from app.api.fields import AccountEmail
from app.api.fields import DeviceName
from app.api.fields import JsonBoolean
from app.api.fields import Password
from app.api.fields import Timestamp
from app.core import roles
from app.core.audit.origin import platform_of
from app.core.factors import mfa_lock

_ROLES = validate.OneOf([roles.USER, roles.ADMIN])


class RegisterSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))
    password = Password(required=True)
    role = fields.String(load_default=roles.USER, validate=_ROLES)
    device_name = DeviceName(data_key="deviceName")


class LoginSchema(Schema):
    identifier = fields.Email(required=True, data_key="email", validate=validate.Length(max=254))
    password = Password(required=True)
    device_name = DeviceName(data_key="deviceName")


class UserSchema(Schema):
    id = fields.Function(lambda user: str(user.id), data_key="_id")
    email = AccountEmail()
    username = fields.String()
    role = fields.Function(roles.primary_role)
    first_name = fields.String(data_key="firstName", allow_none=True)
    last_name = fields.String(data_key="lastName", allow_none=True)
    display_name = fields.String(data_key="displayName", allow_none=True)
    social_links = fields.Dict(data_key="socialLinks")
    locale = fields.String(allow_none=True)
    email_verified = fields.Function(
        lambda user: user.email_verified_at is not None, data_key="emailVerified"
    )
    created_at = Timestamp(data_key="createdAt")
    updated_at = Timestamp(data_key="updatedAt")


class AdminUserSchema(UserSchema):
    is_active = JsonBoolean(data_key="isActive")
    mfa_locked = fields.Function(
        mfa_lock.is_locked,
        data_key="mfaLocked",
        metadata={"description": "Too many wrong second-factor codes in a row: locked"},
    )


class SignedInSchema(Schema):
    access_token = fields.String(attribute="tokens.access_token", data_key="accessToken")
    user = fields.Nested(UserSchema)


class AccessTokenSchema(Schema):
    access_token = fields.String(data_key="accessToken")


class PageQuerySchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1_000_000))
    per_page = fields.Integer(
        load_default=20, data_key="limit", validate=validate.Range(min=1, max=100)
    )


class RegisteredSchema(Schema):
    """Register's answer when logins need a verified email: no token yet."""

    message = fields.Constant("Check your email to verify your address, then log in.")
    user = fields.Nested(UserSchema)


VERIFIED_ENDING_WAYS_IN = (
    "Email verified. Every earlier way to sign in to this account has ended: set a password "
    "with Forgot password."
)


class EmailSchema(Schema):
    email = fields.Email(required=True, validate=validate.Length(max=254))


class MailedTokenSchema(Schema):
    token = fields.String(required=True, validate=validate.Length(min=1))


class VerifyEmailSchema(MailedTokenSchema):
    password = Password(
        metadata={
            "description": "The account's password: with it (or with the bearer token of a "
            "session of the account), the verification keeps the ways in the account already "
            "has; without either, they end, and the owner sets a password by a reset."
        }
    )


class VerifiedEmailSchema(Schema):
    message = fields.Function(
        lambda verified: VERIFIED_ENDING_WAYS_IN if verified.ways_in_ended else "Email verified"
    )
    user = fields.Nested(UserSchema)


class ResetPasswordSchema(MailedTokenSchema):
    password = Password(required=True)


class ChangePasswordSchema(Schema):
    current_password = Password(required=True, data_key="currentPassword")
    new_password = Password(required=True, data_key="newPassword")


class PasswordSchema(Schema):
    password = Password(
        metadata={
            "description": "The current password, as this action's proof of who is calling; "
            "without it, a recent one is needed (POST /auth/reauthenticate)."
        }
    )


_TOTP_CODE = validate.Length(min=1, max=32)


class TotpCodeSchema(Schema):
    code = fields.String(required=True, validate=_TOTP_CODE)


class TotpOffSchema(Schema):
    password = Password(metadata={"description": "The current password, checked when given."})
    code = fields.String(
        required=True,
        validate=_TOTP_CODE,
        metadata={"description": "A current TOTP code, or one of the recovery codes."},
    )


class TotpEnrolmentSchema(Schema):
    secret = fields.String(required=True, metadata={"description": "Base32, for manual entry."})
    otpauth_uri = fields.String(required=True, data_key="otpauthUri")
    qr_svg = fields.String(required=True, data_key="qrSvg")


class RecoveryCodesSchema(Schema):
    recovery_codes = fields.List(fields.String(), required=True, data_key="recoveryCodes")


class MfaTokenSchema(Schema):
    mfa_token = fields.String(
        required=True, data_key="mfaToken", validate=validate.Length(min=1, max=128)
    )


class MfaVerifySchema(Schema):
    mfa_token = fields.String(
        required=True, data_key="mfaToken", validate=validate.Length(min=1, max=128)
    )
    code = fields.String(validate=_TOTP_CODE)
    recovery_code = fields.String(data_key="recoveryCode", validate=_TOTP_CODE)
    credential = fields.Dict(
        metadata={"description": "A WebAuthn assertion (the JSON of navigator.credentials.get())"}
    )
    device_name = DeviceName(data_key="deviceName")

    @validates_schema
    def require_one_proof(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if sum(name in data for name in ("code", "recovery_code", "credential")) != 1:
            raise ValidationError("Provide exactly one of: code, recoveryCode, credential.")


class ReauthenticateSchema(Schema):
    password = Password()
    code = fields.String(validate=_TOTP_CODE, metadata={"description": "A current TOTP code"})
    recovery_code = fields.String(data_key="recoveryCode", validate=_TOTP_CODE)
    credential = fields.Dict(
        metadata={
            "description": "A WebAuthn assertion for the options of "
            "POST /auth/reauthenticate/passkey-options"
        }
    )

    @validates_schema
    def require_one_proof(self, data: dict[str, Any], **_kwargs: Any) -> None:
        if sum(name in data for name in ("password", "code", "recovery_code", "credential")) != 1:
            raise ValidationError(
                "Provide exactly one of: password, code, recoveryCode, credential."
            )


_CREDENTIAL = fields.Dict(
    required=True,
    metadata={"description": "WebAuthn JSON: the PublicKeyCredential the browser returned"},
)


class PasskeySchema(Schema):
    id = fields.Function(lambda passkey: str(passkey.id))
    name = fields.String()
    created_at = Timestamp(data_key="createdAt")
    last_used_at = Timestamp(data_key="lastUsedAt", allow_none=True)


class PasskeyAddedSchema(PasskeySchema):
    recovery_codes = fields.List(
        fields.String(),
        data_key="recoveryCodes",
        metadata={"description": "Only when this passkey is the account's first second factor"},
    )


class PasskeyListSchema(Schema):
    passkeys = fields.List(fields.Nested(PasskeySchema))


class PasskeyRegisterSchema(Schema):
    credential = _CREDENTIAL
    name = fields.String(validate=validate.Length(min=1, max=100))


class PasskeySignInOptionsSchema(Schema):
    email = fields.Email(validate=validate.Length(max=254), load_default=None)


class PasskeySignInSchema(Schema):
    challenge_id = fields.String(
        required=True, data_key="challengeId", validate=validate.Length(min=1, max=64)
    )
    credential = _CREDENTIAL
    device_name = DeviceName(data_key="deviceName")


class WebAuthnOptionsSchema(Schema):
    """WebAuthn JSON options (PublicKeyCredentialCreationOptionsJSON or RequestOptionsJSON)."""

    class Meta:
        unknown = "include"

    challenge = fields.String(required=True)


PLATFORM = fields.Function(
    lambda session: platform_of(session.user_agent),
    allow_none=True,
    metadata={"description": 'The operating system the User-Agent names ("iOS 17.5")'},
)


class SessionSchema(Schema):
    id = fields.String()
    created_at = Timestamp(data_key="createdAt")
    last_used_at = Timestamp(data_key="lastUsedAt")
    expires_at = Timestamp(data_key="expiresAt")
    user_agent = fields.String(data_key="userAgent", allow_none=True)
    ip = fields.String(allow_none=True)
    client_type = fields.String(
        data_key="clientType", metadata={"description": "browser (cookie) or native (body)"}
    )
    device_name = fields.String(data_key="deviceName", allow_none=True)
    platform = PLATFORM
    current = JsonBoolean()


class SessionListSchema(Schema):
    sessions = fields.List(fields.Nested(SessionSchema))


class UserPageSchema(Schema):
    users = fields.List(fields.Nested(AdminUserSchema))
    pagination = fields.Method("dump_pagination")

    def dump_pagination(self, page: Any) -> dict[str, int]:
        return {
            "page": page.page,
            "limit": page.per_page,
            "total": page.total,
            "totalPages": -(-page.total // page.per_page),
        }


class AuditEventSchema(Schema):
    id = fields.Integer()
    occurred_at = Timestamp(data_key="time")
    event = fields.String()
    outcome = fields.String()
    user_id = fields.Integer(data_key="userId", allow_none=True)
    target_user_id = fields.Integer(data_key="targetUserId", allow_none=True)
    client_id = fields.String(data_key="clientId", allow_none=True)
    session_id = fields.String(data_key="sessionId", allow_none=True)
    dialect = fields.String(allow_none=True)
    ip = fields.String(allow_none=True)
    user_agent = fields.String(data_key="userAgent", allow_none=True)
    details = fields.Dict(allow_none=True)


class AuditPageSchema(Schema):
    events = fields.List(fields.Nested(AuditEventSchema))
    pagination = fields.Method("dump_pagination")

    def dump_pagination(self, page: Any) -> dict[str, int]:
        return UserPageSchema().dump_pagination(page)


class ErrorSchema(Schema):
    error = fields.String(required=True)
    message = fields.String(required=True)
    details = fields.Dict(required=True)


class MessageSchema(Schema):
    message = fields.String(required=True)


class OidcProviderSchema(Schema):
    name = fields.String()


class OidcProviderListSchema(Schema):
    providers = fields.List(fields.Nested(OidcProviderSchema))


class OidcTokenExchangeSchema(Schema):
    id_token = fields.String(
        required=True, data_key="idToken", validate=validate.Length(min=1, max=16_384)
    )
    nonce = fields.String(load_default=None, validate=validate.Length(min=1, max=255))
    device_name = DeviceName(data_key="deviceName")


class AppCodeExchangeSchema(Schema):
    code = fields.String(
        required=True,
        validate=validate.Length(min=1, max=4096),
        metadata={"description": "The one-time code the app's redirect URI received"},
    )
    code_verifier = fields.String(
        required=True,
        data_key="codeVerifier",
        validate=validate.Length(min=43, max=128),
        metadata={"description": "The PKCE verifier whose S256 the app sent as code_challenge"},
    )
    device_name = DeviceName(data_key="deviceName")


class NativeSignedInSchema(SignedInSchema):
    """A native app's sign-in: the refresh token in the body, for its secure storage."""

    refresh_token = fields.String(attribute="tokens.refresh_token", data_key="refreshToken")


class NativeTokensSchema(AccessTokenSchema):
    """A native app's refresh: the new access token and the rotated refresh token."""

    refresh_token = fields.String(data_key="refreshToken")


class IdentitySchema(Schema):
    id = fields.Function(lambda identity: str(identity.id))
    provider = fields.String()
    email = fields.String(allow_none=True)
    created_at = Timestamp(data_key="createdAt")
    last_used_at = Timestamp(data_key="lastUsedAt", allow_none=True)


class IdentityListSchema(Schema):
    identities = fields.List(fields.Nested(IdentitySchema))


class OidcStartQuerySchema(Schema):
    next = fields.String(
        metadata={
            "description": "A path on the frontend to land on (anything else is /); or a native "
            "app's redirect URI from AUTH_NATIVE_REDIRECT_URIS, exactly, which then receives a "
            "one-time code for POST /auth/oidc/exchange"
        }
    )


class AppSignInQuerySchema(OidcStartQuerySchema):
    """The system-browser sign-in of a native app: PKCE (RFC 7636) and the app's state."""

    code_challenge = fields.String(
        metadata={"description": "A native app's sign-in: BASE64URL(SHA-256(codeVerifier))"}
    )
    code_challenge_method = fields.String(
        validate=validate.OneOf(["S256"]), metadata={"description": "S256 (the only one)"}
    )
    state = fields.String(
        metadata={"description": "Returned to the app's redirect URI as it was sent"}
    )


class OidcCallbackQuerySchema(Schema):
    code = fields.String()
    state = fields.String()
    iss = fields.String()
    error = fields.String()
    error_description = fields.String()


class OidcLinkStartedSchema(Schema):
    authorization_url = fields.String(data_key="authorizationUrl")
