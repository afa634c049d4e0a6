"""The blog API's account self-service: the profile, the email address, the account's data
and its deletion, each by the signed-in owner."""

from flask import Response
from flask import jsonify

from app.api.auth import access_token_required
from app.api.auth import current_caller
from app.api.auth import optional_caller
from app.api.blog import bp
from app.api.blog.account_schemas import AccountExportSchema
from app.api.blog.account_schemas import EmailChangedSchema
from app.api.blog.account_schemas import EmailChangeSchema
from app.api.blog.account_schemas import ProfileUpdateSchema
from app.api.blog.account_schemas import SecondFactorsExportSchema
from app.api.blog.schemas import MailedTokenSchema
from app.api.blog.schemas import PasswordSchema
from app.api.blog.schemas import UserSchema
from app.api.blog.transport import forget_session
from app.api.requests import load_body
from app.api.requests import load_optional_body
from app.core.accounts import self_service
from app.core.mailbox import email_change

CONFIRMATION_MAILED = "A confirmation link has been sent to the new address."

ACCOUNT_EXPORT_SCHEMA = AccountExportSchema()
EMAIL_CHANGE_SCHEMA = EmailChangeSchema()
EMAIL_CHANGED_SCHEMA = EmailChangedSchema()
MAILED_TOKEN_SCHEMA = MailedTokenSchema()
PASSWORD_SCHEMA = PasswordSchema()
PROFILE_UPDATE_SCHEMA = ProfileUpdateSchema()
SECOND_FACTORS_SCHEMA = SecondFactorsExportSchema()
USER_SCHEMA = UserSchema()


@bp.patch("/users/current")
@access_token_required
def update_profile() -> Response:
    """Change the caller's own profile fields; unknown fields are a 400."""
    changes = load_body(PROFILE_UPDATE_SCHEMA)
    user = self_service.update_profile(caller=current_caller, changes=changes)
    return jsonify(USER_SCHEMA.dump(user))


@bp.post("/users/current/email")
@access_token_required
def request_email_change() -> tuple[Response, int]:
    """Mail a confirmation link to a new address (a recent proof of who is calling first);
    the account keeps its address until the link is used."""
    email_change.request_email_change(caller=current_caller, **load_body(EMAIL_CHANGE_SCHEMA))
    return jsonify({"message": CONFIRMATION_MAILED}), 202


@bp.post("/auth/email-change/confirm")
def confirm_email_change() -> Response:
    """Make the mailed-to address the account's; its other sessions end, the old address is
    told."""
    user = email_change.confirm_email_change(
        holder=optional_caller(), **load_body(MAILED_TOKEN_SCHEMA)
    )
    return jsonify(EMAIL_CHANGED_SCHEMA.dump({"user": user}))


@bp.get("/users/current/export")
@access_token_required
def export_own_data() -> Response:
    """The caller's own data as JSON: profile, sessions, factors (without secrets),
    identities and auth events."""
    exported = self_service.export_own_data(caller=current_caller)
    response = jsonify(ACCOUNT_EXPORT_SCHEMA.dump(exported))
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.delete("/users/current")
@access_token_required
def delete_own_account() -> Response:
    """Delete the caller's account (a recent proof of who is calling first) with everything
    that hangs from it; never the last active admin."""
    self_service.delete_own_account(caller=current_caller, **load_optional_body(PASSWORD_SCHEMA))
    return forget_session(jsonify({"message": "Account deleted"}))


@bp.get("/auth/mfa")
@access_token_required
def own_second_factors() -> Response:
    """The caller's second factors: TOTP on or off, recovery codes left, passkeys."""
    return jsonify(
        SECOND_FACTORS_SCHEMA.dump(self_service.own_second_factors(caller=current_caller))
    )
