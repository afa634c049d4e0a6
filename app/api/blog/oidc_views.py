"""The blog API's sign-in with OpenID providers, and the identities linked to an account."""

from flask import Response
from flask import jsonify

from app.api.auth import access_token_required
from app.api.auth import current_caller
from app.api.blog import bp
from app.api.blog.schemas import IdentityListSchema
from app.api.blog.schemas import OidcProviderListSchema
from app.api.blog.schemas import OidcSignedInSchema
from app.api.blog.schemas import OidcTokenExchangeSchema
from app.api.requests import client_info
from app.api.requests import load_body
from app.core.services import oidc
from app.core.tokens import policy_for

PROVIDER_LIST_SCHEMA = OidcProviderListSchema()
TOKEN_EXCHANGE_SCHEMA = OidcTokenExchangeSchema()
SIGNED_IN_SCHEMA = OidcSignedInSchema()
IDENTITY_LIST_SCHEMA = IdentityListSchema()


@bp.get("/auth/oidc")
def list_oidc_providers() -> Response:
    """The providers a login page may offer."""
    names = oidc.provider_names()
    return jsonify(PROVIDER_LIST_SCHEMA.dump({"providers": [{"name": n} for n in names]}))


@bp.post("/auth/oidc/<string:provider>/token")
def exchange_oidc_id_token(provider: str) -> Response:
    """A native app's sign-in with the ID token its provider's SDK obtained."""
    body = load_body(TOKEN_EXCHANGE_SCHEMA)
    signed_in = oidc.exchange_id_token(
        provider=provider, policy=policy_for("BLOG"), client=client_info(), **body
    )
    return jsonify(SIGNED_IN_SCHEMA.dump(signed_in))


@bp.get("/auth/identities")
@access_token_required
def list_identities() -> Response:
    """The provider accounts linked to the caller's account."""
    found = oidc.list_identities(user_id=current_caller.user.id)
    return jsonify(IDENTITY_LIST_SCHEMA.dump({"identities": found}))


@bp.delete("/auth/identities/<int:identity_id>")
@access_token_required
def unlink_identity(identity_id: int) -> Response:
    """Remove a linked provider account, unless it is the account's last way in."""
    oidc.unlink(user_id=current_caller.user.id, identity_id=identity_id)
    return jsonify({"message": "Identity removed"})
