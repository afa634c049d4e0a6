"""Views of the staff API."""

from flask import Response
from flask import jsonify
from flask_jwt_extended import current_user
from flask_jwt_extended import jwt_required

from app.api.limits import credential_endpoint
from app.api.requests import client_info
from app.api.requests import load_body
from app.api.staff import bp
from app.api.staff.schemas import ChangePasswordSchema
from app.api.staff.schemas import CheckedSchema
from app.api.staff.schemas import LoggedInSchema
from app.api.staff.schemas import LoginSchema
from app.core.services import accounts
from app.core.services import authentication
from app.core.services import sessions
from app.core.tokens import policy_for

DIALECT = "staff"


@bp.post("/login")
@credential_endpoint
def login() -> Response:
    """Exchange username and password for a 7-day token and the user's roles."""
    data = load_body(LoginSchema())
    signed_in = authentication.log_in(
        **data, dialect=DIALECT, policy=policy_for("STAFF"), client=client_info()
    )
    return jsonify(LoggedInSchema().dump(signed_in))


@bp.get("/check")
@jwt_required()
def check() -> Response:
    """The caller's current profile, roles and permissions; any failure is 401."""
    return jsonify(CheckedSchema().dump({"user": current_user.user}))


@bp.post("/logout")
@jwt_required()
def logout() -> Response:
    """Revoke the token server-side (the document's logout is client-side only)."""
    sessions.log_out(caller=current_user)
    return jsonify({"success": True})


@bp.post("/change-password")
@credential_endpoint
@jwt_required()
def change_password() -> Response:
    """Change the password; this session stays, every other session of the user ends."""
    data = load_body(ChangePasswordSchema())
    accounts.change_password(
        user=current_user.user, keep_session_id=current_user.session_id, **data
    )
    return jsonify({"success": True})
