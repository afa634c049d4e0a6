"""The service mints its tokens itself (app/core/tokens/minting.py); flask-jwt-extended, which
minted them before, is the reference: the same header and claims, byte for byte, and a
signature that PyJWT and flask-jwt-extended's decoder accept, under every signing algorithm,
with and without an issuer and audience. The reference mints first, at its own time and with
its own jti; the service's clock is then set to that second and the jti passed as a claim,
so that nothing of flask-jwt-extended is patched."""

from datetime import UTC
from datetime import datetime
from datetime import timedelta
from typing import Any

import jwt
import pytest
from flask import Flask
from flask_jwt_extended import create_access_token
from flask_jwt_extended import decode_token

from app.core.tokens.keys import SIGNING_ALGORITHMS
from app.core.tokens.keys import generate_private_key
from app.core.tokens.keys import key_set
from app.core.tokens.keys import private_pem
from app.core.tokens.minting import token_minter
from tests.conftest import make_app
from tests.signing import TEST_SECRET

IDENTITY = {"sid": "session-1", "roles": ["user", "admin"], "username": "zoë", "userId": 7}


def signing_app(database_url: str, algorithm: str, *, addressed: bool) -> Flask:
    settings: dict[str, Any] = {
        "JWT_ALGORITHM": algorithm,
        "JWT_SECRET_KEY": TEST_SECRET,
        "JWT_PRIVATE_KEY": None,
        "JWT_ISSUER": "https://auth.test" if addressed else None,
        "JWT_AUDIENCE": ["a", "b"] if addressed else [],
    }
    if algorithm != "HS256":
        settings["JWT_PRIVATE_KEY"] = private_pem(generate_private_key(algorithm)).decode()
    return make_app(database_url, **settings)


@pytest.fixture(params=SIGNING_ALGORITHMS)
def algorithm(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture(params=[False, True], ids=["plain", "issuer-and-audience"])
def addressed(request: pytest.FixtureRequest) -> bool:
    return request.param


@pytest.mark.parametrize(
    ("token_type", "ttl", "claims"),
    [
        ("access", timedelta(minutes=15), IDENTITY),
        ("refresh", None, IDENTITY | {"jti": "r-1", "iat": 1, "nbf": 1, "exp": 4_000_000_000}),
        ("client", timedelta(hours=1), {"clientId": "c-1"}),
    ],
)
def test_minted_token_has_flask_jwt_extended_header_and_claims(
    database_url, frozen_clock, algorithm, addressed, token_type, ttl, claims
):
    app = signing_app(database_url, algorithm, addressed=addressed)
    with app.test_request_context():
        reference = create_access_token(
            identity="7",
            expires_delta=ttl or False,
            additional_claims={"type": token_type} | dict(claims),
        )
        issued = jwt.decode(reference, options={"verify_signature": False})
        frozen_clock.now = datetime.fromtimestamp(issued["iat"], UTC)
        same_jti = {"jti": issued["jti"]} | dict(claims)
        ours = token_minter().mint(kind=token_type, subject="7", ttl=ttl, claims=same_jti)
        assert ours.rsplit(".", 1)[0] == reference.rsplit(".", 1)[0]
        if algorithm == "HS256":
            assert ours == reference
        assert decode_token(ours, allow_expired=True) == decode_token(reference, allow_expired=True)


def test_minted_token_verifies_with_pyjwt_and_the_published_key(database_url, algorithm):
    app = signing_app(database_url, algorithm, addressed=True)
    with app.test_request_context():
        token = token_minter().mint(
            kind="access", subject="7", ttl=timedelta(minutes=5), claims=IDENTITY
        )
        signing = key_set().signing
        header = jwt.get_unverified_header(token)
        claims = jwt.decode(
            token, signing.key, algorithms=[algorithm], audience="a", issuer="https://auth.test"
        )
    assert header == {"alg": algorithm, "kid": signing.kid, "typ": "JWT"}
    assert claims["username"] == "zoë"
    assert claims["exp"] - claims["iat"] == 300
