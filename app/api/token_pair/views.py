"""Views of the token-pair API."""

from flask import Response
from flask import jsonify

from app.api.auth import access_token_required
from app.api.auth import current_caller
from app.api.requests import load_body
from app.api.token_pair import bp
from app.api.token_pair.schemas import MeSchema
from app.api.token_pair.schemas import ObtainSchema
from app.api.token_pair.schemas import PairSchema
from app.api.token_pair.schemas import RefreshedSchema
from app.api.token_pair.schemas import RefreshSchema
from app.api.token_pair.schemas import VerifySchema
from app.core.audit.origin import current_client
from app.core.sessions import refreshes
from app.core.sessions import sessions
from app.core.signin import authentication
from app.core.signin import token_checks
from app.core.tokens.tokens import policy_for

DIALECT = "token-pair"


# Built once: a schema holds no per-request state, and building one is not free.
ME_SCHEMA = MeSchema()
OBTAIN_SCHEMA = ObtainSchema()
PAIR_SCHEMA = PairSchema()
REFRESH_SCHEMA = RefreshSchema()
REFRESHED_SCHEMA = RefreshedSchema()
VERIFY_SCHEMA = VerifySchema()


@bp.post("/token/", strict_slashes=False)
def obtain_pair() -> Response:
    """Exchange username and password for a refresh and an access token."""
    data = load_body(OBTAIN_SCHEMA)
    signed_in = authentication.log_in(
        **data, dialect=DIALECT, policy=policy_for("TOKEN_PAIR"), client=current_client()
    )
    return jsonify(PAIR_SCHEMA.dump(signed_in.tokens))


@bp.post("/token/refresh/", strict_slashes=False)
def refresh_pair() -> Response:
    """Spend a refresh token (single use) for a new access and refresh token."""
    data = load_body(REFRESH_SCHEMA)
    tokens = refreshes.rotate_refresh(
        refresh_token=data["refresh"], policy=policy_for("TOKEN_PAIR")
    )
    return jsonify(REFRESHED_SCHEMA.dump(tokens))


@bp.post("/token/verify/", strict_slashes=False)
def verify() -> Response:
    """200 ``{}`` when the token is valid and not revoked."""
    token_checks.verify_token(**load_body(VERIFY_SCHEMA))
    return jsonify({})


@bp.post("/token/blacklist/", strict_slashes=False)
def blacklist() -> Response:
    """Revoke a refresh token and the session it belongs to."""
    sessions.revoke_refresh_family(refresh_token=load_body(REFRESH_SCHEMA)["refresh"])
    return jsonify({})


@bp.get("/users/me/", strict_slashes=False)
@access_token_required
def me() -> Response:
    """The calling user."""
    return jsonify(ME_SCHEMA.dump(current_caller.user))
