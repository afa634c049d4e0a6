"""The signing setup each test runs under: its database's algorithm, unless
TEST_JWT_ALGORITHM names one for every test.

The algorithm and the database are independent of each other (tokens are minted and checked
in the service; the database stores only their ids), so one run covers two: the SQLite half
of the suite, and the tests without a database, sign with HS256 (the documents' default and
``make run``'s); the PostgreSQL half, production's database, with ES256, where each test
process makes one key pair and every test app and test server also carries an issuer and an
audience, so all five dialects are exercised with them.
"""

import os
from functools import cache
from typing import Any

import jwt

from app.core.tokens.keys import ASYMMETRIC_ALGORITHMS
from app.core.tokens.keys import SIGNING_ALGORITHMS
from app.core.tokens.keys import generate_private_key
from app.core.tokens.keys import private_pem
from app.core.tokens.keys import public_key_entry

TEST_SECRET = (
    "648a4a5f9145a0afad4ee8ffb6941621dbe0d9c3ff6fb24430e99596b43258f0"
    "6fbb048edb37bbaa357d5b172079e811957256a4ed2e8a82168c636b0187ccd1"
)
# Seals the TOTP secrets of production-mode apps the tests start (a Fernet key).
TEST_MFA_KEY = "qHH2clKYnipyAcAxYOKXbHUjZlSD7mcM_tzP7bvNvJ0="
ALGORITHM_ENV = "TEST_JWT_ALGORITHM"
FORCED_ALGORITHM = os.environ.get(ALGORITHM_ENV) or None
DEFAULT_ALGORITHM = "HS256"
ALGORITHM_OF_DATABASE = {"sqlite": DEFAULT_ALGORITHM, "postgresql": "ES256"}
TEST_ISSUER = "https://auth.test"
TEST_AUDIENCE = "authsvc-tests"

if FORCED_ALGORITHM is not None and FORCED_ALGORITHM not in SIGNING_ALGORITHMS:
    raise SystemExit(f"{ALGORITHM_ENV} must be one of {', '.join(SIGNING_ALGORITHMS)}")


def algorithm_of(database_kind: str | None) -> str:
    """The algorithm a test on ``database_kind`` (None: no database) signs with."""
    return FORCED_ALGORITHM or ALGORITHM_OF_DATABASE.get(database_kind or "", DEFAULT_ALGORITHM)


_active = algorithm_of(None)


def use_algorithm_of(database_kind: str | None) -> None:
    """Sign with ``database_kind``'s algorithm until told otherwise: set before each test's
    fixtures (tests/conftest.py), which run one at a time in a test process."""
    global _active
    _active = algorithm_of(database_kind)


def describe() -> str:
    """The run's algorithms, for the report's header."""
    if FORCED_ALGORITHM is not None:
        return f"tokens: {FORCED_ALGORITHM} on every database ({ALGORITHM_ENV})"
    per_database = ", ".join(f"{alg} on {kind}" for kind, alg in ALGORITHM_OF_DATABASE.items())
    return f"tokens: {per_database} and without one ({ALGORITHM_ENV} sets one for all)"


@cache
def _private_key(algorithm: str) -> Any:
    return generate_private_key(algorithm)


def signing_settings() -> dict[str, str]:
    """The settings, as environment values, for an app or a server of the current test."""
    if _active not in ASYMMETRIC_ALGORITHMS:
        return {"JWT_SECRET_KEY": TEST_SECRET}
    return {
        "JWT_ALGORITHM": _active,
        "JWT_PRIVATE_KEY": private_pem(_private_key(_active)).decode(),
        "JWT_ISSUER": TEST_ISSUER,
        "JWT_AUDIENCE": TEST_AUDIENCE,
    }


def signing_config() -> dict[str, Any]:
    """The same, as app configuration (lists where the config holds lists)."""
    settings: dict[str, Any] = dict(signing_settings())
    if "JWT_AUDIENCE" in settings:
        settings["JWT_AUDIENCE"] = [settings["JWT_AUDIENCE"]]
    return settings


def sign_as_service(claims: dict[str, Any], **header: Any) -> str:
    """A token signed with the current test's signing key, kid included, with the claims given as
    they are (nothing added): for tests that forge what the service would never mint."""
    if _active in ASYMMETRIC_ALGORITHMS:
        key: Any = _private_key(_active)
        kid = public_key_entry(key.public_key()).kid
    else:
        key, kid = TEST_SECRET, None
    headers = {"kid": kid} if kid else {}
    return jwt.encode(claims, key, algorithm=_active, headers=headers | header)


def standard_claims() -> dict[str, Any]:
    """The issuer and audience claims the service's tokens carry in the current test."""
    if _active not in ASYMMETRIC_ALGORITHMS:
        return {}
    return {"iss": TEST_ISSUER, "aud": TEST_AUDIENCE}


def signed_part(token: str) -> str:
    """A token without its signature. ES256 signatures are randomized (RFC 7518 3.4), so a
    token minted again from the same header and claims equals its twin here, not byte for
    byte; with HS256, RS256 and EdDSA the signatures are equal too."""
    return token.rsplit(".", 1)[0]
