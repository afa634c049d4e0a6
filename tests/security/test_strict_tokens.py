"""Strict token checks in every dialect (RFC 8725; OWASP ASVS 5 V9 self-contained tokens)."""

import base64
import json
import time
from typing import Any

import jwt
import pytest
from flask_jwt_extended import decode_token

from app.database import db
from tests.factories import PASSWORD
from tests.factories import make_user
from tests.signing import TEST_SECRET
from tests.signing import sign_as_service

# Each user endpoint, with the body its dialect gives an invalid token.
USER_ENDPOINTS = {
    "/api/v1/users/current": {
        "error": "AuthenticationError", "message": "Invalid token", "details": {}
    },
    "/auth/me": {"statusCode": 401, "message": "Invalid token", "error": "Unauthorized"},
    "/api/auth/check": {"authenticated": False},
    "/api/users/me/": {"detail": "Token is invalid or expired", "code": "token_not_valid"},
}  # fmt: skip
# The same, for a well-formed token whose session, user or jti the database no longer honours.
REVOKED_BODIES = USER_ENDPOINTS | {
    "/api/v1/users/current": {
        "error": "AuthenticationError", "message": "Token has been revoked", "details": {}
    },
}  # fmt: skip


@pytest.fixture
def claims(app_context, client) -> dict[str, Any]:
    """The claims of a live access token."""
    user = make_user()
    token = client.post(
        "/api/v1/auth/login", json={"email": user.email, "password": PASSWORD}
    ).get_json()["accessToken"]
    return decode_token(token)


def _sign(claims: dict[str, Any], *, key: str | None = None, **header: Any) -> str:
    """Signed with the service's own key, or HMAC-signed with ``key`` (an attacker's)."""
    if key is None and "algorithm" not in header:
        return sign_as_service(claims, **header)
    secret = TEST_SECRET if key is None else key
    return jwt.encode(claims, secret, algorithm=header.pop("algorithm", "HS256"), headers=header)


def _without(claims: dict[str, Any], name: str) -> dict[str, Any]:
    return {k: v for k, v in claims.items() if k != name}


def _assert_refused_everywhere(client, token: str, bodies: dict = USER_ENDPOINTS) -> None:
    for endpoint, body in bodies.items():
        response = client.get(endpoint, headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, endpoint
        assert response.get_json() == body, endpoint


def test_a_well_formed_forgery_with_the_real_key_is_accepted(client, claims):
    """Control case: the re-signing below is faithful, so each refusal is the defect's."""
    for endpoint in USER_ENDPOINTS:
        response = client.get(endpoint, headers={"Authorization": f"Bearer {_sign(claims)}"})
        assert response.status_code == 200, endpoint


@pytest.mark.parametrize("claim", ["type", "jti", "sid", "sub", "exp", "iat"])
def test_a_token_missing_a_required_claim_is_refused(client, claims, claim):
    """RFC 8725 3.11 and ASVS 5 V9.2.2: type is explicit; flask-jwt-extended must not
    fill in a missing type or jti; sid, sub, exp and iat are required too."""
    _assert_refused_everywhere(client, _sign(_without(claims, claim)))


@pytest.mark.parametrize(
    ("claim", "value"),
    [
        ("sub", 1),
        ("sid", 42),
        ("jti", ["x"]),
        ("exp", str(int(time.time()) + 600)),
        ("iat", 1.5),
        ("exp", True),
        ("type", "id_token"),
        ("nbf", "now"),
    ],
    # Fixed ids: the test processes must collect the same names, and one value is a time.
    ids=[
        "sub-int",
        "sid-int",
        "jti-list",
        "exp-string",
        "iat-float",
        "exp-bool",
        "type-id",
        "nbf-string",
    ],
)
def test_a_token_with_an_ill_typed_claim_is_refused(client, claims, claim, value):
    """ASVS 5 V9.2.1: claims are validated, not coerced; sub is a string (RFC 7519 4.1.2)."""
    _assert_refused_everywhere(client, _sign(claims | {claim: value}))


def test_an_unsigned_alg_none_token_is_refused(client, claims):
    """RFC 8725 3.1 and ASVS 5 V9.1.2: only the allowlisted algorithm; never 'none'."""
    _assert_refused_everywhere(client, jwt.encode(claims, None, algorithm="none"))


def test_a_token_with_an_algorithm_outside_the_list_is_refused(client, claims):
    """RFC 8725 3.1: HS512 with the right secret is still not the configured algorithm."""
    _assert_refused_everywhere(client, _sign(claims, algorithm="HS512"))


def test_a_token_signed_with_another_key_is_refused(client, claims):
    """ASVS 5 V9.1.1: the signature is verified with the service's key."""
    _assert_refused_everywhere(client, _sign(claims, key="another secret " * 8))


@pytest.mark.parametrize(
    "header",
    [
        {"jku": "https://attacker.example/jwks.json", "kid": "attacker"},
        {"x5u": "https://attacker.example/cert.pem"},
        {"kid": "../../../../dev/null"},
    ],
)
def test_kid_jku_and_x5u_never_choose_the_key(client, claims, header):
    """ASVS 5 V9.1.3 and RFC 8725 3.10: key material comes only from configuration, so a
    token signed with the attacker's key and pointing at it is refused."""
    _assert_refused_everywhere(client, _sign(claims, key="attacker key " * 8, **header))


def test_an_unknown_critical_header_is_refused(client, claims):
    """RFC 7515 4.1.11: a critical extension the service does not understand is refused."""
    _assert_refused_everywhere(client, _sign(claims, crit=["exp"], exp=1))


def test_an_explicit_typ_other_than_jwt_is_refused(client, claims):
    """RFC 8725 3.11: explicit typing keeps other kinds of JWT out."""
    _assert_refused_everywhere(client, _sign(claims, typ="at+jwt+other"))


def test_a_refresh_token_is_not_an_access_token(client, claims):
    """ASVS 5 V9.2.2: each token is accepted only for its own purpose."""
    _assert_refused_everywhere(client, _sign(claims | {"type": "refresh"}))


def test_revocation_follows_jti_and_sid_not_the_tokens_bytes(client, claims):
    """ASVS 5 V7.4.1: after logout, the same claims in differently encoded bytes (another
    header member, a different signature) are still refused."""
    original = _sign(claims)
    client.post("/api/auth/logout", headers={"Authorization": f"Bearer {original}"})

    _assert_refused_everywhere(client, _sign(claims, cty="other-bytes"), REVOKED_BODIES)


def test_a_tampered_payload_is_refused(client, claims):
    """ASVS 5 V9.1.1: changing one claim (here the roles) breaks the signature."""
    token = _sign(claims)
    header, _payload, signature = token.split(".")
    forged = base64.urlsafe_b64encode(json.dumps(claims | {"roles": ["admin"]}).encode()).rstrip(
        b"="
    )

    _assert_refused_everywhere(client, f"{header}.{forged.decode()}.{signature}")


def test_roles_come_from_the_database_not_from_the_token(client, claims):
    """ASVS 5 V8.2.1: a token claiming admin, validly signed, grants nothing more."""
    promoted = _sign(claims | {"roles": ["user", "admin"]})

    response = client.get("/api/v1/users", headers={"Authorization": f"Bearer {promoted}"})

    assert response.status_code == 403


def test_a_deleted_session_with_a_reused_user_id_never_authenticates(app_context, client, claims):
    """ASVS 5 V7.4.1: ids may be reused after deletion; the session id is what counts."""
    from app.core.models import SignInSession
    from app.core.models import User

    db.session.execute(db.delete(SignInSession))
    db.session.execute(db.delete(User))
    db.session.commit()
    make_user()  # may receive the deleted user's id

    _assert_refused_everywhere(client, _sign(claims), REVOKED_BODIES)
