"""Another service: it trusts authsvc's tokens knowing only its JWKS URL, with PyJWT alone.

The verification is ``verdict``: the key comes from the JWK set by the token's ``kid``, its
algorithm from the key, and issuer and audience are required (README "Signing keys").
tests/e2e/test_jwks_through_gunicorn.py drives it through a key rotation.

Run as ``python jwks_consumer.py JWKS_URL ISSUER AUDIENCE CACHE_SECONDS``; it reads one line
at a time from stdin and answers each with one JSON line on stdout:
- ``kids``: the key ids in its cached JWK set, ``{"kids": [...]}``;
- anything else is a token: ``{"valid": true, "sub": ...}`` or ``{"valid": false, "error": ...}``.
"""

import json
import sys
from typing import Any

import jwt


def verdict(client: jwt.PyJWKClient, token: str, issuer: str, audience: str) -> dict[str, Any]:
    try:
        key = client.get_signing_key_from_jwt(token)
        claims = jwt.decode(
            token, key, algorithms=[key.algorithm_name], issuer=issuer, audience=audience
        )
    except jwt.PyJWTError as error:
        return {"valid": False, "error": type(error).__name__}
    return {"valid": True, "sub": claims["sub"], "kid": key.key_id}


def main() -> None:
    url, issuer, audience, cache_seconds = sys.argv[1:]
    client = jwt.PyJWKClient(url, cache_keys=False, lifespan=float(cache_seconds))
    for line in sys.stdin:
        request = line.strip()
        if request == "kids":
            answer: dict[str, Any] = {"kids": [key.key_id for key in client.get_jwk_set().keys]}
        else:
            answer = verdict(client, request, issuer, audience)
        print(json.dumps(answer), flush=True)


if __name__ == "__main__":
    main()
