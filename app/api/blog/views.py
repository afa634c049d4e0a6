"""Views of the blog API: load with a schema, call one service, dump, return."""

from flask import Response
from flask import jsonify

from app.api.auth import access_token_required
from app.api.auth import current_caller
from app.api.auth import logout_caller
from app.api.auth import optional_caller
from app.api.blog import bp
from app.api.blog.schemas import AccessTokenSchema
from app.api.blog.schemas import ChangePasswordSchema
from app.api.blog.schemas import EmailSchema
from app.api.blog.schemas import LoginSchema
from app.api.blog.schemas import RegisteredSchema
from app.api.blog.schemas import RegisterSchema
from app.api.blog.schemas import ResetPasswordSchema
from app.api.blog.schemas import SessionListSchema
from app.api.blog.schemas import SignedInSchema
from app.api.blog.schemas import UserSchema
from app.api.blog.schemas import VerifiedEmailSchema
from app.api.blog.schemas import VerifyEmailSchema
from app.api.blog.transport import forget_session
from app.api.blog.transport import presented_refresh_token
from app.api.blog.transport import required_refresh_token
from app.api.blog.transport import session_client
from app.api.blog.transport import tokens_response
from app.api.origin import same_site_only
from app.api.requests import load_body
from app.api.requests import preferred_language
from app.core.accounts import accounts
from app.core.errors import InvalidInputError
from app.core.errors import NotFoundError
from app.core.identities import is_storable
from app.core.mailbox import mailed_tokens
from app.core.sessions import refreshes
from app.core.sessions import sessions
from app.core.signin import authentication
from app.core.signin.authentication import AwaitingVerification
from app.core.tokens.tokens import policy_for

DIALECT = "blog"
SESSION_ID_MAX_LENGTH = 36
RESET_MAILED = "If an account exists for this email, a password reset link has been sent."
VERIFICATION_MAILED = (
    "If an unverified account exists for this email, a verification link has been sent."
)


# Built once: a schema holds no per-request state, and building one is not free.
ACCESS_TOKEN_SCHEMA = AccessTokenSchema()
CHANGE_PASSWORD_SCHEMA = ChangePasswordSchema()
EMAIL_SCHEMA = EmailSchema()
REGISTERED_SCHEMA = RegisteredSchema()
RESET_PASSWORD_SCHEMA = ResetPasswordSchema()
LOGIN_SCHEMA = LoginSchema()
REGISTER_SCHEMA = RegisterSchema()
SESSION_LIST_SCHEMA = SessionListSchema()
SIGNED_IN_SCHEMA = SignedInSchema()
USER_SCHEMA = UserSchema()
VERIFIED_EMAIL_SCHEMA = VerifiedEmailSchema()
VERIFY_EMAIL_SCHEMA = VerifyEmailSchema()


@bp.post("/auth/register")
def register() -> Response | tuple[Response, int]:
    """Create an account and sign it in: the access token, the user, the refresh token (a
    cookie, or in the body for a native app)."""
    data = load_body(REGISTER_SCHEMA)
    client = session_client(data.pop("device_name"))
    registered = authentication.sign_up(
        **data,
        dialect=DIALECT,
        policy=policy_for("BLOG"),
        client=client,
        locale=preferred_language(),
    )
    if isinstance(registered, AwaitingVerification):
        return jsonify(REGISTERED_SCHEMA.dump(registered)), 201
    return tokens_response(SIGNED_IN_SCHEMA.dump(registered), registered.tokens, status=201)


@bp.post("/auth/login")
def login() -> Response:
    """Exchange email and password for an access token, the user and the refresh token."""
    data = load_body(LOGIN_SCHEMA)
    signed_in = authentication.log_in(
        identifier=data["identifier"],
        password=data["password"],
        dialect=DIALECT,
        policy=policy_for("BLOG"),
        client=session_client(data["device_name"]),
        second_step=True,  # 403 MfaRequiredError, then POST /auth/mfa/verify
    )
    return tokens_response(SIGNED_IN_SCHEMA.dump(signed_in), signed_in.tokens)


@bp.post("/auth/refresh-token")
@same_site_only
def refresh_token() -> Response:
    """Spend the refresh token for a new access token and a rotated refresh token."""
    tokens = refreshes.rotate_refresh(
        refresh_token=required_refresh_token(presented_refresh_token()),
        policy=policy_for("BLOG"),
    )
    return tokens_response(ACCESS_TOKEN_SCHEMA.dump(tokens), tokens)


@bp.post("/auth/logout")
@same_site_only
def logout() -> Response:
    """End the session of the access token and of the refresh token, and clear the cookie;
    once the access token has expired, a valid refresh token alone ends its session."""
    presented = presented_refresh_token()
    caller = logout_caller(presented)
    if caller is not None:
        sessions.log_out(caller=caller, refresh_token=required_refresh_token(presented))
    return forget_session(jsonify({"message": "Logged out successfully"}))


@bp.post("/auth/forgot-password")
def forgot_password() -> tuple[Response, int]:
    """Mail a reset link if the account exists; the same answer either way."""
    mailed_tokens.request_password_reset(**load_body(EMAIL_SCHEMA))
    return jsonify({"message": RESET_MAILED}), 202


@bp.post("/auth/reset-password")
def reset_password() -> Response:
    """Set a new password with a mailed token; every session of the account ends."""
    mailed_tokens.reset_password(**load_body(RESET_PASSWORD_SCHEMA))
    return jsonify({"message": "Password has been reset. Log in with the new password."})


@bp.post("/auth/verify-email")
def verify_email() -> Response:
    """Mark the address verified with the mailed token; without the password or a session of
    the account, the ways in added before end (the mailbox owner wins)."""
    verified = mailed_tokens.verify_email(
        holder=optional_caller(), **load_body(VERIFY_EMAIL_SCHEMA)
    )
    return jsonify(VERIFIED_EMAIL_SCHEMA.dump(verified))


@bp.post("/auth/resend-verification")
def resend_verification() -> tuple[Response, int]:
    """Mail a new verification link to an unverified account; the same answer for any email."""
    mailed_tokens.resend_verification(**load_body(EMAIL_SCHEMA))
    return jsonify({"message": VERIFICATION_MAILED}), 202


@bp.get("/auth/sessions")
@access_token_required
def list_sessions() -> Response:
    """The caller's live sessions, the calling one marked ``current``."""
    live = sessions.list_live_sessions(caller=current_caller)
    return jsonify(SESSION_LIST_SCHEMA.dump({"sessions": live}))


@bp.delete("/auth/sessions/<session_id>")
@access_token_required
def end_session(session_id: str) -> Response:
    """End one of the caller's sessions; its tokens fail on their next use."""
    if not (is_storable(session_id) and len(session_id) <= SESSION_ID_MAX_LENGTH):
        raise NotFoundError("Session not found.")
    sessions.end_session(caller=current_caller, session_id=session_id)
    response = jsonify({"message": "Session ended"})
    if session_id == current_caller.session_id:
        forget_session(response)
    return response


@bp.post("/auth/logout-all")
@access_token_required
def logout_all() -> Response:
    """End every session of the caller, this one included, and clear the refresh cookie."""
    sessions.log_out_everywhere(caller=current_caller)
    return forget_session(jsonify({"message": "Logged out of every session"}))


@bp.post("/auth/change-password")
@access_token_required
def change_password() -> Response:
    """Change the password; this session stays, every other session of the user ends."""
    data = load_body(CHANGE_PASSWORD_SCHEMA)
    try:
        accounts.change_password(caller=current_caller, **data)
    except InvalidInputError as error:
        # The password policy names the field "password"; here it is the new one.
        if "password" in error.details:
            error.details = {"newPassword": error.details.pop("password"), **error.details}
        raise
    return jsonify({"message": "Password changed successfully"})


@bp.get("/users/current")
@access_token_required
def current_user_profile() -> Response:
    """The calling user."""
    return jsonify(USER_SCHEMA.dump(current_caller.user))
