"""Views of the CMG API."""

from flask import Response
from flask import jsonify

from app.api.auth import access_token_required
from app.api.auth import current_caller
from app.api.auth import logout_caller
from app.api.cmg import bp
from app.api.cmg.schemas import LoginSchema
from app.api.cmg.schemas import MeSchema
from app.api.cmg.schemas import TokenSchema
from app.api.cookies import attach_refresh_cookie
from app.api.cookies import clear_refresh_cookie
from app.api.cookies import read_cookie
from app.api.origin import same_site_only
from app.api.requests import load_body
from app.core.audit.origin import current_client
from app.core.errors import RefreshTokenMissingError
from app.core.sessions import refreshes
from app.core.sessions import sessions
from app.core.signin import authentication
from app.core.tokens.tokens import policy_for

DIALECT = "cmg"
COOKIE = {"name": "refresh_token", "path": "/auth"}


# Built once: a schema holds no per-request state, and building one is not free.
LOGIN_SCHEMA = LoginSchema()
ME_SCHEMA = MeSchema()
TOKEN_SCHEMA = TokenSchema()


@bp.post("/login")
def login() -> Response:
    """Exchange username (or email) and password for an access token and a refresh cookie."""
    data = load_body(LOGIN_SCHEMA)
    signed_in = authentication.log_in(
        **data, dialect=DIALECT, policy=policy_for("CMG"), client=current_client()
    )
    tokens = signed_in.tokens
    return attach_refresh_cookie(jsonify(TOKEN_SCHEMA.dump(tokens)), tokens, **COOKIE)


@bp.post("/refresh")
@same_site_only
def refresh() -> Response:
    """Spend the refresh cookie for a new access token and a rotated cookie."""
    refresh_token = read_cookie(COOKIE["name"])
    if refresh_token is None:
        raise RefreshTokenMissingError()
    tokens = refreshes.rotate_refresh(refresh_token=refresh_token, policy=policy_for("CMG"))
    return attach_refresh_cookie(jsonify(TOKEN_SCHEMA.dump(tokens)), tokens, **COOKIE)


@bp.get("/me")
@access_token_required
def me() -> Response:
    """The calling user."""
    return jsonify(ME_SCHEMA.dump(current_caller.user))


@bp.post("/logout")
@same_site_only
def logout() -> Response:
    """Revoke the session and the access token, and clear the refresh cookie; once the access
    token has expired, a valid refresh cookie alone ends its session."""
    refresh_token = read_cookie(COOKIE["name"])
    caller = logout_caller(refresh_token)
    if caller is not None:
        sessions.log_out(caller=caller, refresh_token=refresh_token)
    response = jsonify({"message": "Logged out successfully"})
    clear_refresh_cookie(response, **COOKIE)
    return response
