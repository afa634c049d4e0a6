"""The suite's own signing setup (tests/signing.py): each half of it signs as it says."""

import jwt

from app.core.tokens.keys import ASYMMETRIC_ALGORITHMS
from tests.factories import make_user
from tests.signing import TEST_AUDIENCE
from tests.signing import TEST_ISSUER
from tests.signing import algorithm_of
from tests.signing import describe


def test_a_tests_tokens_are_signed_with_its_databases_algorithm(app_context, auth, database_kind):
    token = auth.login(make_user().email).get_json()["accessToken"]

    algorithm = algorithm_of(database_kind)
    assert jwt.get_unverified_header(token)["alg"] == algorithm
    claims = jwt.decode(token, options={"verify_signature": False})
    asymmetric = algorithm in ASYMMETRIC_ALGORITHMS
    expected = (TEST_ISSUER, TEST_AUDIENCE) if asymmetric else (None, None)
    assert (claims.get("iss"), claims.get("aud")) == expected


def test_without_an_override_the_two_databases_sign_with_two_algorithms(monkeypatch):
    monkeypatch.setattr("tests.signing.FORCED_ALGORITHM", None)

    assert (algorithm_of("sqlite"), algorithm_of("postgresql"), algorithm_of(None)) == (
        "HS256",
        "ES256",
        "HS256",
    )
    assert describe() == (
        "tokens: HS256 on sqlite, ES256 on postgresql and without one "
        "(TEST_JWT_ALGORITHM sets one for all)"
    )
