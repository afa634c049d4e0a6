"""Views of the staff API."""

from flask import Response
from flask import jsonify

from app.api.auth import access_token_required
from app.api.auth import current_caller
from app.api.requests import load_body
from app.api.staff import bp
from app.api.staff.schemas import ChangePasswordSchema
from app.api.staff.schemas import CheckedSchema
from app.api.staff.schemas import LoggedInSchema
from app.api.staff.schemas import LoginSchema
from app.core.accounts import accounts
from app.core.audit.origin import current_client
from app.core.sessions import sessions
from app.core.signin import authentication
from app.core.tokens.tokens import policy_for

DIALECT = "staff"


# Built once: a schema holds no per-request state, and building one is not free.
CHANGE_PASSWORD_SCHEMA = ChangePasswordSchema()
CHECKED_SCHEMA = CheckedSchema()
LOGGED_IN_SCHEMA = LoggedInSchema()
LOGIN_SCHEMA = LoginSchema()


@bp.post("/login")
def login() -> Response:
    """Exchange username and password for a 7-day token and the user's roles."""
    data = load_body(LOGIN_SCHEMA)
    signed_in = authentication.log_in(
        **data, dialect=DIALECT, policy=policy_for("STAFF"), client=current_client()
    )
    return jsonify(LOGGED_IN_SCHEMA.dump(signed_in))


@bp.get("/check")
@access_token_required
def check() -> Response:
    """The caller's current profile, roles and permissions; any failure is 401."""
    return jsonify(CHECKED_SCHEMA.dump({"user": current_caller.user}))


@bp.post("/logout")
@access_token_required
def logout() -> Response:
    """Revoke the token server-side (the document's logout is client-side only)."""
    sessions.log_out(caller=current_caller)
    return jsonify({"success": True})


@bp.post("/change-password")
@access_token_required
def change_password() -> Response:
    """Change the password; this session stays, every other session of the user ends."""
    data = load_body(CHANGE_PASSWORD_SCHEMA)
    accounts.change_password(caller=current_caller, **data)
    return jsonify({"success": True})
