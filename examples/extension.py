"""A team's own endpoints on the auth service: serve with
``gunicorn -c gunicorn.conf.py examples.extension:app`` (README, "Adding your own endpoints").

Every face's access token works here, and a logout, blacklist, deactivation or deletion is
refused at once, exactly as on the service's own endpoints.
"""

from flask import Blueprint
from flask import jsonify
from flask.typing import ResponseReturnValue
from flask_jwt_extended import current_user
from flask_jwt_extended import get_jwt
from flask_jwt_extended import jwt_required

from app import create_app
from app.api.guards import client_token_required
from app.api.guards import current_client
from app.api.guards import permission_required
from app.api.guards import recent_authentication_required
from app.api.guards import roles_required

bp = Blueprint("orders", __name__, url_prefix="/orders")


@bp.get("/mine")
@jwt_required()
def my_orders() -> ResponseReturnValue:
    """Any signed-in user: ``current_user`` is read from the database on this request."""
    return jsonify(
        {
            "user": current_user.username,
            "email": current_user.email,
            "roles": list(current_user.role_names),
            "session": get_jwt()["sid"],
            "orders": [],
        }
    )


@bp.get("/report")
@roles_required("admin")
def sales_report() -> ResponseReturnValue:
    """Admins only, as the database says now (a demotion acts on the next request)."""
    return jsonify({"report": "all orders", "by": current_user.username})


@bp.post("/news")
@permission_required("news:write")
def publish_news() -> ResponseReturnValue:
    """Whoever holds a role granting ``news:write``."""
    return jsonify({"published": True, "by": current_user.username}), 201


@bp.post("/payout-address")
@recent_authentication_required()
def change_payout_address() -> ResponseReturnValue:
    """A sensitive action: only within AUTH_REAUTH_MAX_AGE_SECONDS of a proof of who is calling
    (the login, or POST /api/v1/auth/reauthenticate), as the database records it."""
    return jsonify({"changed": True, "by": current_user.username})


@bp.get("/invoices")
@jwt_required(fresh=True)
def invoices() -> ResponseReturnValue:
    """flask-jwt-extended's own ``fresh``: the token's claim says until when its session's
    latest proof counts (never longer than the database would allow)."""
    return jsonify({"invoices": [], "user": current_user.username})


@bp.get("/export")
@client_token_required
def export_for_a_machine() -> ResponseReturnValue:
    """Machine-to-machine: a client-credentials token only; user tokens are refused."""
    return jsonify({"client": current_client.name, "orders": []})


app = create_app()
app.register_blueprint(bp)
