"""The blog API's second factor: TOTP enrolment, recovery codes, a login's second step, and
proving who one is again before a sensitive action."""

from flask import Response
from flask import jsonify

from app.api.auth import access_token_required
from app.api.auth import current_caller
from app.api.blog import bp
from app.api.blog.schemas import AccessTokenSchema
from app.api.blog.schemas import MfaTokenSchema
from app.api.blog.schemas import MfaVerifySchema
from app.api.blog.schemas import PasswordSchema
from app.api.blog.schemas import ReauthenticateSchema
from app.api.blog.schemas import RecoveryCodesSchema
from app.api.blog.schemas import SignedInSchema
from app.api.blog.schemas import TotpCodeSchema
from app.api.blog.schemas import TotpEnrolmentSchema
from app.api.blog.schemas import TotpOffSchema
from app.api.blog.transport import session_client
from app.api.blog.transport import tokens_response
from app.api.requests import load_body
from app.core.factors import reauthentication
from app.core.factors import second_factor
from app.core.tokens.tokens import policy_for

ACCESS_TOKEN_SCHEMA = AccessTokenSchema()
MFA_TOKEN_SCHEMA = MfaTokenSchema()
MFA_VERIFY_SCHEMA = MfaVerifySchema()
PASSWORD_SCHEMA = PasswordSchema()
REAUTHENTICATE_SCHEMA = ReauthenticateSchema()
RECOVERY_CODES_SCHEMA = RecoveryCodesSchema()
SIGNED_IN_SCHEMA = SignedInSchema()
TOTP_CODE_SCHEMA = TotpCodeSchema()
TOTP_ENROLMENT_SCHEMA = TotpEnrolmentSchema()
TOTP_OFF_SCHEMA = TotpOffSchema()


@bp.post("/auth/mfa/totp")
@access_token_required
def start_totp() -> Response:
    """Start a TOTP enrolment: the secret, its otpauth:// URI and a QR code of it, as SVG."""
    enrolment = second_factor.begin_totp(caller=current_caller, **load_body(PASSWORD_SCHEMA))
    return jsonify(TOTP_ENROLMENT_SCHEMA.dump(enrolment))


@bp.post("/auth/mfa/totp/confirm")
@access_token_required
def confirm_totp() -> Response:
    """Turn TOTP on with a first code; the ten recovery codes, shown this once."""
    codes = second_factor.confirm_totp(caller=current_caller, **load_body(TOTP_CODE_SCHEMA))
    return jsonify(RECOVERY_CODES_SCHEMA.dump({"recovery_codes": codes}))


@bp.delete("/auth/mfa/totp")
@access_token_required
def turn_off_totp() -> Response:
    """Turn TOTP off with the password and a code (or a recovery code)."""
    second_factor.turn_off_totp(caller=current_caller, **load_body(TOTP_OFF_SCHEMA))
    return jsonify({"message": "TOTP is off"})


@bp.post("/auth/mfa/recovery-codes")
@access_token_required
def new_recovery_codes() -> Response:
    """A new set of recovery codes; the old set stops working."""
    codes = second_factor.regenerate_recovery_codes(
        caller=current_caller, **load_body(PASSWORD_SCHEMA)
    )
    return jsonify(RECOVERY_CODES_SCHEMA.dump({"recovery_codes": codes}))


@bp.post("/auth/mfa/passkey-options")
def second_step_passkey_options() -> Response:
    """Passkey options for a login's second step whose 403 did not carry them: an OpenID
    sign-in's redirect gives only the mfaToken and the methods."""
    data = load_body(MFA_TOKEN_SCHEMA)
    return jsonify(second_factor.passkey_options_for(mfa_token=data["mfa_token"]))


@bp.post("/auth/mfa/verify")
def verify_second_factor() -> Response:
    """A login's second step: the mfaToken of the 403 and a code; answered like a login."""
    data = load_body(MFA_VERIFY_SCHEMA)
    done = second_factor.finish_login(
        mfa_token=data["mfa_token"],
        code=data.get("code"),
        recovery_code=data.get("recovery_code"),
        credential=data.get("credential"),
        policy=policy_for("BLOG"),
        client=session_client(data["device_name"]),
    )
    return tokens_response(SIGNED_IN_SCHEMA.dump(done), done.tokens)


@bp.post("/auth/reauthenticate")
@access_token_required
def reauthenticate() -> Response:
    """Prove who you are again (password, code, recovery code or passkey): a new access token
    for this session, fresh enough for a sensitive action."""
    access_token = reauthentication.reauthenticate(
        caller=current_caller, policy=policy_for("BLOG"), **load_body(REAUTHENTICATE_SCHEMA)
    )
    return jsonify(ACCESS_TOKEN_SCHEMA.dump({"access_token": access_token}))


@bp.post("/auth/reauthenticate/passkey-options")
@access_token_required
def reauthentication_passkey_options() -> Response:
    """Request options (WebAuthn JSON) for proving who you are with one of your passkeys."""
    return jsonify(reauthentication.passkey_options(caller=current_caller))
