"""Views of the client-credentials API."""

from flask import Response
from flask import jsonify

from app.api.client_credentials import bp
from app.api.client_credentials.schemas import AuthenticatedSchema
from app.api.client_credentials.schemas import CredentialsSchema
from app.api.client_credentials.schemas import VerifiedSchema
from app.api.requests import load_body
from app.api.requests import required_bearer_token
from app.core.accounts import clients

# Built once: a schema holds no per-request state, and building one is not free.
AUTHENTICATED_SCHEMA = AuthenticatedSchema()
CREDENTIALS_SCHEMA = CredentialsSchema()
VERIFIED_SCHEMA = VerifiedSchema()


@bp.post("/auth")
def authenticate() -> Response:
    """Exchange a client id and key for a client access token."""
    credentials = load_body(CREDENTIALS_SCHEMA, message="clientId and clientKey are required.")
    token = clients.authenticate_client(**credentials)
    return jsonify(AUTHENTICATED_SCHEMA.dump(token))


@bp.get("/auth")
def verify() -> Response:
    """Verify the client token of the Authorization header and name its client."""
    client = clients.verify_client_token(token=required_bearer_token())
    return jsonify(VERIFIED_SCHEMA.dump(client))
