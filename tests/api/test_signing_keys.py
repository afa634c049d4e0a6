"""Asymmetric tokens, the JWKS, rotation, issuer and audience, through the dialects' endpoints.

Each test builds its apps with the keys it names (on the suite's database), whatever
algorithm the rest of the suite signs with (tests/signing.py).
"""

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import jwt
import pytest
from flask import Flask

from app.core.tokens.keys import generate_private_key
from app.core.tokens.keys import private_pem
from app.core.tokens.keys import public_key_entry
from app.core.tokens.keys import public_pem
from app.database import db
from tests.conftest import dispose_engines
from tests.conftest import make_app
from tests.dialects import LOGINS
from tests.dialects import USER_ENDPOINTS
from tests.dialects import bearer
from tests.factories import PASSWORD
from tests.factories import make_client
from tests.factories import make_user
from tests.signing import TEST_SECRET

ISSUER = "https://auth.example.com"
AUDIENCE = "orders-api"
JWKS = "/.well-known/jwks.json"

KeyApp = Callable[..., Flask]


@pytest.fixture
def key_app(app: Flask, database_url: str) -> Iterator[KeyApp]:
    """Apps on the suite's (freshly reset) database, each signing with the key given."""
    made: list[Flask] = []

    def make(private_key: Any = None, *, verify: tuple[Path, ...] = (), **overrides: Any) -> Flask:
        if private_key is None:
            settings = {"JWT_ALGORITHM": "HS256", "JWT_SECRET_KEY": TEST_SECRET}
        else:
            settings = {
                "JWT_ALGORITHM": public_key_entry(private_key.public_key()).algorithm,
                "JWT_PRIVATE_KEY": private_pem(private_key).decode(),
            }
        new = make_app(
            database_url,
            **{
                "JWT_PRIVATE_KEY": None,
                "JWT_ISSUER": ISSUER,
                "JWT_AUDIENCE": [AUDIENCE],
                "JWT_VERIFY_KEYS": [str(path) for path in verify],
                **settings,
                **overrides,
            },
        )
        made.append(new)
        return new

    yield make
    for each in made:
        with each.app_context():
            db.session.remove()
            dispose_engines()


@pytest.fixture
def user(app: Flask) -> SimpleNamespace:
    """A user's login names and id, readable outside any app context."""
    with app.app_context():
        made = make_user()
        return SimpleNamespace(id=made.id, email=made.email, username=made.username)


def _public_file(tmp_path: Path, private_key: Any) -> Path:
    path = tmp_path / f"{public_key_entry(private_key.public_key()).kid}.pem"
    path.write_bytes(public_pem(private_key))
    return path


def _header(token: str) -> dict[str, Any]:
    return jwt.get_unverified_header(token)


def _statuses(app: Flask, token: str) -> list[int]:
    client = app.test_client()
    return [client.get(endpoint, headers=bearer(token)).status_code for endpoint in USER_ENDPOINTS]


def _verify_with_jwks(jwks: dict[str, Any], token: str) -> dict[str, Any]:
    """What another service does with only the JWKS: pick the key by kid, check everything."""
    [jwk] = [key for key in jwks["keys"] if key["kid"] == _header(token)["kid"]]
    key = jwt.PyJWK(jwk)
    return jwt.decode(token, key, algorithms=[jwk["alg"]], audience=AUDIENCE, issuer=ISSUER)


def test_the_jwks_under_hs256_is_empty_and_cacheable(key_app):
    response = key_app(JWT_ISSUER=None, JWT_AUDIENCE=[]).test_client().get(JWKS)

    assert response.status_code == 200
    assert response.get_json() == {"keys": []}
    assert response.content_type == "application/json"
    assert response.headers["Cache-Control"] == "public, max-age=300"
    assert "Pragma" not in response.headers
    assert TEST_SECRET not in response.get_data(as_text=True)


def test_the_jwks_answers_304_to_a_client_holding_the_same_set(key_app):
    client = key_app(generate_private_key("ES256"), JWKS_MAX_AGE_SECONDS=60).test_client()
    first = client.get(JWKS)

    again = client.get(JWKS, headers={"If-None-Match": first.headers["ETag"]})

    assert first.cache_control.max_age == 60
    assert again.status_code == 304
    assert again.get_data() == b""


def test_the_jwks_may_be_read_from_any_origin(key_app):
    response = (
        key_app(generate_private_key("EdDSA"))
        .test_client()
        .get(JWKS, headers={"Origin": "https://shop.example"})
    )

    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Access-Control-Allow-Credentials" not in response.headers


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_every_dialects_token_is_verified_by_another_service_with_only_the_jwks(
    key_app, user, algorithm
):
    private_key = generate_private_key(algorithm)
    app = key_app(private_key)
    client = app.test_client()
    jwks = client.get(JWKS).get_json()

    for dialect, login in LOGINS.items():
        token = login(client, user)
        assert _header(token) == {
            "alg": algorithm, "typ": "JWT", "kid": public_key_entry(private_key.public_key()).kid
        }, dialect  # fmt: skip
        claims = _verify_with_jwks(jwks, token)
        assert (claims["sub"], claims["iss"], claims["aud"]) == (str(user.id), ISSUER, AUDIENCE)
        assert _statuses(app, token) == [200, 200, 200, 200], dialect


def test_a_client_credentials_token_is_signed_and_verified_the_same_way(key_app):
    app = key_app(generate_private_key("ES256"))
    client = app.test_client()
    with app.app_context():
        credentials = make_client()

    token = client.post(
        "/auth", json={"clientId": credentials.client_id, "clientKey": credentials.client_key}
    ).get_json()["data"]["accessToken"]

    assert _verify_with_jwks(client.get(JWKS).get_json(), token)["type"] == "client"
    assert client.get("/auth", headers=bearer(token)).status_code == 200


def test_after_rotation_old_tokens_work_until_the_old_key_is_removed(key_app, user, tmp_path):
    old_key, new_key = generate_private_key("ES256"), generate_private_key("ES256")
    old_kid, new_kid = (public_key_entry(k.public_key()).kid for k in (old_key, new_key))
    before = key_app(old_key).test_client()
    pair = before.post("/api/token/", json={"username": user.username, "password": PASSWORD})
    old_access, old_refresh = pair.get_json()["access"], pair.get_json()["refresh"]

    rotated = key_app(new_key, verify=(_public_file(tmp_path, old_key),))
    jwks = rotated.test_client().get(JWKS).get_json()
    refreshed = rotated.test_client().post("/api/token/refresh/", json={"refresh": old_refresh})
    new_access = LOGINS["cmg"](rotated.test_client(), user)

    assert [key["kid"] for key in jwks["keys"]] == [new_kid, old_kid]
    assert _statuses(rotated, old_access) == [200, 200, 200, 200]
    assert refreshed.status_code == 200
    assert _header(refreshed.get_json()["refresh"])["kid"] == new_kid
    assert _header(new_access)["kid"] == new_kid

    retired = key_app(new_key)
    assert [key["kid"] for key in retired.test_client().get(JWKS).get_json()["keys"]] == [new_kid]
    assert _statuses(retired, old_access) == [401, 401, 401, 401]
    assert _statuses(retired, new_access) == [200, 200, 200, 200]
    assert _statuses(retired, refreshed.get_json()["access"]) == [200, 200, 200, 200]


def test_a_move_from_hs256_to_es256_logs_everyone_out(key_app, user):
    """A secret is never a verification key: it cannot be published, so the move is a cut."""
    token = LOGINS["staff"](key_app().test_client(), user)

    assert _statuses(key_app(generate_private_key("ES256")), token) == [401, 401, 401, 401]


@pytest.fixture
def signed(key_app, user) -> tuple[Flask, Any, dict[str, Any]]:
    """An ES256 app, its key, and the claims of one of its live access tokens."""
    private_key = generate_private_key("ES256")
    app = key_app(private_key)
    token = LOGINS["blog"](app.test_client(), user)
    return app, private_key, jwt.decode(token, options={"verify_signature": False})


def _sign(private_key: Any, claims: dict[str, Any], **header: Any) -> str:
    kid = public_key_entry(private_key.public_key()).kid
    return jwt.encode(claims, private_key, algorithm="ES256", headers={"kid": kid} | header)


@pytest.mark.parametrize(
    "changes",
    [{"iss": "https://other.example"}, {"iss": None}, {"aud": "billing-api"}, {"aud": None},
     {"aud": ["billing-api"]}, {"aud": []}, {"aud": [AUDIENCE, 7]}],
    ids=["other-issuer", "no-issuer", "other-audience", "no-audience", "list-without-us",
         "empty-list", "ill-typed-list"],
)  # fmt: skip
def test_a_token_for_another_issuer_or_audience_is_refused(signed, changes):
    """RFC 7519 4.1.1 and 4.1.3; RFC 8725 3.8 and 3.9: signed by our key is not enough."""
    app, private_key, claims = signed
    forged = {k: v for k, v in (claims | changes).items() if v is not None}

    assert _statuses(app, _sign(private_key, claims)) == [200, 200, 200, 200]
    assert _statuses(app, _sign(private_key, forged)) == [401, 401, 401, 401]


def test_a_token_naming_us_among_several_audiences_is_accepted(signed):
    app, private_key, claims = signed

    token = _sign(private_key, claims | {"aud": ["billing-api", AUDIENCE]})

    assert _statuses(app, token) == [200, 200, 200, 200]


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hmac_signed_with_public_key(private_key: Any, claims: dict[str, Any], kid: str) -> str:
    """The classic confusion attack: HS256 keyed with the public key's PEM, which anyone can
    read from the JWKS (PyJWT itself refuses to make such a token, so it is made by hand)."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = ".".join(
        _base64url(json.dumps(part, separators=(",", ":")).encode()) for part in (header, claims)
    )
    secret = public_pem(private_key)
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{_base64url(signature)}"


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_a_token_hmac_signed_with_the_public_key_is_refused(key_app, user, algorithm):
    """RFC 8725 2.1 and 3.1: the key decides the algorithm, never the token's header."""
    private_key = generate_private_key(algorithm)
    app = key_app(private_key)
    token = LOGINS["token-pair"](app.test_client(), user)
    claims = jwt.decode(token, options={"verify_signature": False})

    forged = _hmac_signed_with_public_key(private_key, claims, _header(token)["kid"])

    assert _statuses(app, forged) == [401, 401, 401, 401]


def test_an_embedded_jwk_or_another_algorithm_for_our_kid_is_refused(signed):
    """RFC 8725 3.10: the key is never taken from the token (``jwk`` header injection), and
    a kid names one key with one algorithm."""
    app, private_key, claims = signed
    kid = public_key_entry(private_key.public_key()).kid
    attacker = generate_private_key("ES256")
    attacker_jwk = public_key_entry(attacker.public_key()).public_jwk
    other_algorithm = generate_private_key("EdDSA")

    forgeries = [
        jwt.encode(claims, attacker, algorithm="ES256", headers={"kid": kid, "jwk": attacker_jwk}),
        jwt.encode(claims, other_algorithm, algorithm="EdDSA", headers={"kid": kid}),
        jwt.encode(claims, None, algorithm="none", headers={"kid": kid}),
        _sign(attacker, claims),  # the attacker's own kid: not one of ours
    ]

    for forged in forgeries:
        assert _statuses(app, forged) == [401, 401, 401, 401]
