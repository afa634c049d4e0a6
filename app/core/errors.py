"""The domain errors of the auth core.

Each has a stable machine ``code`` that a dialect maps to its own status and body, and a
fallback ``status`` for a response that belongs to no dialect.
"""

from typing import Any


class AuthServiceError(Exception):
    code = "error"
    message = "The request could not be completed."
    status = 400

    def __init__(
        self, message: str | None = None, *, details: dict[str, Any] | None = None
    ) -> None:
        super().__init__(message or self.message)
        self.message = message or self.message
        self.details = details or {}


class InvalidInputError(AuthServiceError):
    code = "invalid_input"
    message = "The request body is invalid."


class InvalidCredentialsError(AuthServiceError):
    code = "invalid_credentials"
    message = "Invalid credentials."
    status = 401

    def __init__(self, message: str | None = None, *, user_id: int | None = None) -> None:
        super().__init__(message)
        self.user_id = user_id  # for the audit log only; never shown to the client


class SecondFactorElsewhereError(InvalidCredentialsError):
    """A face without a second step, asked to sign in an account that has a second factor."""

    code = "second_factor_required"
    message = "This account signs in with a second factor, through a login that can ask for it."


class MfaRequiredError(AuthServiceError):
    """The password was right; the login waits for its second factor (details: mfaToken,
    methods)."""

    code = "mfa_required"
    message = "A second factor is required to complete this login."
    status = 403


class MfaTokenInvalidError(AuthServiceError):
    code = "mfa_token_invalid"
    message = "The MFA token is invalid, expired or used up; log in again."
    status = 401


class InvalidMfaCodeError(InvalidInputError):
    code = "invalid_mfa_code"
    message = "The code is not valid."


class MfaStateError(AuthServiceError):
    """The change asked for does not fit the account's second factor as it stands."""

    code = "mfa_conflict"
    status = 409


class PasskeyRefusedError(InvalidInputError):
    code = "passkey_refused"
    message = "The passkey could not be verified."


class ReauthenticationRequiredError(AuthServiceError):
    """A sensitive action, and no recent enough proof of who is calling (details: the
    ``methods`` this account can prove itself with, POST /api/v1/auth/reauthenticate)."""

    code = "reauthentication_required"
    message = "This action needs a recent authentication: prove who you are again first."
    status = 401


class MfaLockedError(AuthServiceError):
    """Too many failed second-factor checks in a row: the account's second step is locked
    until a password reset or an admin unlocks it."""

    code = "mfa_locked"
    message = (
        "Too many wrong codes: the second step of this account is locked. Reset the "
        "password, or ask an administrator to unlock it."
    )
    status = 403


class TotpUnavailableError(AuthServiceError):
    code = "totp_unavailable"
    message = "TOTP is not offered by this service."
    status = 404


class WrongCurrentPasswordError(InvalidInputError):
    code = "wrong_current_password"
    message = "Current password is incorrect."


class InvalidClientCredentialsError(AuthServiceError):
    code = "invalid_client_credentials"
    message = "Invalid client credentials."
    status = 401


class TokenMissingError(AuthServiceError):
    code = "token_missing"
    message = "Authentication credentials were not provided."
    status = 401


class RefreshTokenMissingError(TokenMissingError):
    code = "refresh_token_missing"
    message = "Refresh token missing"


class TokenInvalidError(AuthServiceError):
    code = "token_invalid"
    message = "Invalid token."
    status = 401


class TokenExpiredError(AuthServiceError):
    code = "token_expired"
    message = "Token has expired."
    status = 401


class TokenRevokedError(AuthServiceError):
    code = "token_revoked"
    message = "Token has been revoked."
    status = 401


class TokenReusedError(AuthServiceError):
    """A spent refresh token came back: a theft signal (RFC 9700 section 4.14.2)."""

    code = "token_reused"
    message = "Refresh token was already used; the session has been revoked."
    status = 401


class PermissionDeniedError(AuthServiceError):
    code = "permission_denied"
    message = "You do not have permission to perform this action."
    status = 403


class AdminRegistrationDeniedError(PermissionDeniedError):
    code = "admin_registration_denied"
    message = "Admin registration denied: email is not on the admin whitelist."


class RegistrationRejectedError(PermissionDeniedError):
    """The BEFORE_USER_CREATED hook said no; the message is the hook's."""

    code = "registration_rejected"
    message = "Registration was rejected."


class HookFailedError(AuthServiceError):
    """An auth hook failed, timed out or answered nonsense: the action is refused (hooks
    fail closed)."""

    code = "hook_failed"
    message = "The service could not complete this action right now. Try again later."
    status = 503


class StorageUnavailableError(AuthServiceError):
    """A store the action needs (the budgets' Redis) cannot be reached: nothing was done."""

    code = "storage_unavailable"
    message = "The service could not complete this action right now. Try again later."
    status = 503


class EmailNotVerifiedError(AuthServiceError):
    code = "email_not_verified"
    message = "Verify your email address before logging in."
    status = 403


class NotFoundError(AuthServiceError):
    code = "not_found"
    message = "Resource not found."
    status = 404


class ConflictError(AuthServiceError):
    code = "conflict"
    message = "The resource already exists."
    status = 409


class TooManyAttemptsError(AuthServiceError):
    """A brute-force budget is spent (app/core/attempts.py)."""

    code = "rate_limited"
    message = "Too many attempts. Try again later."
    status = 429

    def __init__(self, *, retry_after: int) -> None:
        super().__init__()
        self.retry_after = retry_after
