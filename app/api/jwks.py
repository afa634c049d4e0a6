"""GET /.well-known/jwks.json: the public keys other services verify this service's tokens with."""

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import jsonify
from flask import request

from app.api.openapi import Operation
from app.core.tokens.keys import key_set
from app.extensions import limiter

bp = Blueprint("jwks", __name__)

_JWK_SET = {
    "type": "object",
    "required": ["keys"],
    "properties": {
        "keys": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["kty", "kid", "alg", "use"],
                "properties": {
                    name: {"type": "string"}
                    for name in ("kty", "kid", "alg", "use", "crv", "x", "y", "n", "e")
                },
            },
        }
    },
}
OPERATIONS = [
    Operation("GET", "/.well-known/jwks.json",
              "The public keys that verify this service's tokens (RFC 7517); empty with HS256",
              "keys", responses={200: ("The JWK set", _JWK_SET)}),
]  # fmt: skip


@bp.get("/.well-known/jwks.json")
@limiter.exempt
def jwks() -> Response:
    """The signing key and every key still accepted, public parts only; cacheable, and
    readable from any origin (it holds nothing secret and no credentials are involved)."""
    response = jsonify(key_set().jwks())
    response.cache_control.public = True
    response.cache_control.max_age = current_app.config["JWKS_MAX_AGE_SECONDS"]
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.add_etag()
    response.make_conditional(request)
    return response
