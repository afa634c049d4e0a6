"""The signing setup the whole suite runs under: TEST_JWT_ALGORITHM (HS256 by default).

With an asymmetric algorithm, the run makes one key pair, and every test app and test server
also carries an issuer and an audience, so all five dialects are exercised with them.
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
TEST_ALGORITHM = os.environ.get(ALGORITHM_ENV) or "HS256"
TEST_ISSUER = "https://auth.test"
TEST_AUDIENCE = "authsvc-tests"

if TEST_ALGORITHM not in SIGNING_ALGORITHMS:
    raise SystemExit(f"{ALGORITHM_ENV} must be one of {', '.join(SIGNING_ALGORITHMS)}")


@cache
def _private_key() -> Any:
    return generate_private_key(TEST_ALGORITHM)


def signing_settings() -> dict[str, str]:
    """The settings, as environment values, for an app or a server of this run."""
    if TEST_ALGORITHM not in ASYMMETRIC_ALGORITHMS:
        return {"JWT_SECRET_KEY": TEST_SECRET}
    return {
        "JWT_ALGORITHM": TEST_ALGORITHM,
        "JWT_PRIVATE_KEY": private_pem(_private_key()).decode(),
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
    """A token signed with this run's signing key, kid included, with the claims given as
    they are (nothing added): for tests that forge what the service would never mint."""
    if TEST_ALGORITHM in ASYMMETRIC_ALGORITHMS:
        key: Any = _private_key()
        kid = public_key_entry(key.public_key()).kid
    else:
        key, kid = TEST_SECRET, None
    headers = {"kid": kid} if kid else {}
    return jwt.encode(claims, key, algorithm=TEST_ALGORITHM, headers=headers | header)


def standard_claims() -> dict[str, Any]:
    """The issuer and audience claims the service's tokens carry in this run."""
    if TEST_ALGORITHM not in ASYMMETRIC_ALGORITHMS:
        return {}
    return {"iss": TEST_ISSUER, "aud": TEST_AUDIENCE}


def signed_part(token: str) -> str:
    """A token without its signature. ES256 signatures are randomized (RFC 7518 3.4), so a
    token minted again from the same header and claims equals its twin here, not byte for
    byte; with HS256, RS256 and EdDSA the signatures are equal too."""
    return token.rsplit(".", 1)[0]
