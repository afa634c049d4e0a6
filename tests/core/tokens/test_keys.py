"""Loading the signing key and the verification keys (app/core/tokens/keys.py)."""

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric import rsa

from app.core.tokens.keys import generate_private_key
from app.core.tokens.keys import load_key_set
from app.core.tokens.keys import private_pem
from app.core.tokens.keys import public_key_entry
from app.core.tokens.keys import public_pem
from app.core.tokens.keys import secret_key_entry
from app.core.tokens.keys import thumbprint
from app.startup import ConfigurationError
from tests.signing import TEST_SECRET

# RFC 7638 3.1: the example key and its thumbprint.
RFC_7638_KEY = {
    "kty": "RSA",
    "e": "AQAB",
    "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc"
    "_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
    "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vM"
    "QFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw",
    "alg": "RS256",
    "kid": "2011-04-29",
}
RFC_7638_THUMBPRINT = "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def _config(**settings: Any) -> dict[str, Any]:
    return {
        "APP_ENV": "testing",
        "JWT_ALGORITHM": "HS256",
        "JWT_SECRET_KEY": TEST_SECRET,
        "JWT_PRIVATE_KEY": None,
        "JWT_PRIVATE_KEY_FILE": None,
        "JWT_VERIFY_KEYS": [],
    } | settings


def _load(tmp_path: Path, **settings: Any) -> Any:
    return load_key_set(_config(**settings), instance_path=tmp_path)


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def test_the_kid_is_the_rfc_7638_thumbprint():
    assert thumbprint(RFC_7638_KEY) == RFC_7638_THUMBPRINT


@pytest.mark.parametrize(
    ("algorithm", "kty"), [("RS256", "RSA"), ("ES256", "EC"), ("EdDSA", "OKP")]
)
def test_each_asymmetric_algorithm_signs_with_its_private_key_and_publishes_the_public_one(
    tmp_path, algorithm, kty
):
    private_key = generate_private_key(algorithm)

    keys = _load(
        tmp_path, JWT_ALGORITHM=algorithm, JWT_PRIVATE_KEY=private_pem(private_key).decode()
    )

    assert keys.signing.algorithm == algorithm
    assert private_pem(keys.encode_key) == private_pem(private_key)
    [published] = keys.jwks()["keys"]
    assert published["kty"] == kty
    assert (published["kid"], published["alg"], published["use"]) == (
        keys.signing.kid,
        algorithm,
        "sig",
    )
    assert published["kid"] == thumbprint(published)
    assert not {"d", "p", "q", "dp", "dq", "qi", "key_ops"} & set(published)


def test_hs256_publishes_no_key_and_names_the_secret_by_its_thumbprint(tmp_path):
    keys = _load(tmp_path)

    assert keys.jwks() == {"keys": []}
    assert keys.signing.kid == secret_key_entry(TEST_SECRET).kid
    assert TEST_SECRET not in keys.signing.kid


def test_a_private_key_file_is_read(tmp_path):
    private_key = generate_private_key("ES256")
    path = _write(tmp_path / "signing.pem", private_pem(private_key))

    keys = _load(tmp_path, JWT_ALGORITHM="ES256", JWT_PRIVATE_KEY_FILE=path)

    assert keys.signing.kid == public_key_entry(private_key.public_key()).kid


def test_a_pem_in_an_environment_variable_may_write_newlines_as_backslash_n(tmp_path):
    pem = private_pem(generate_private_key("EdDSA")).decode()

    keys = _load(tmp_path, JWT_ALGORITHM="EdDSA", JWT_PRIVATE_KEY=pem.replace("\n", "\\n"))

    assert keys.signing.algorithm == "EdDSA"


def test_verification_keys_come_from_files_and_directories_each_once(tmp_path):
    signing, old, older = (generate_private_key("ES256") for _ in range(3))
    directory = tmp_path / "keys"
    directory.mkdir()
    _write(directory / "old-private.pem", private_pem(old))
    _write(directory / "old-public.pem", public_pem(old))
    _write(directory / "signing-public.pem", public_pem(signing))
    (directory / "notes.txt").write_text("not a key, not read")
    older_file = _write(tmp_path / "older.pem", public_pem(older))

    keys = _load(
        tmp_path,
        JWT_ALGORITHM="ES256",
        JWT_PRIVATE_KEY=private_pem(signing).decode(),
        JWT_VERIFY_KEYS=[str(directory), older_file],
    )

    kids = [public_key_entry(key.public_key()).kid for key in (signing, old, older)]
    assert list(keys.verification) == kids
    assert [key["kid"] for key in keys.jwks()["keys"]] == kids


def test_an_rsa_verification_key_beside_an_es256_signing_key_verifies_rs256_only(tmp_path):
    """During a move from RS256 to ES256 both kinds are accepted, each by its own algorithm."""
    previous = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    keys = _load(
        tmp_path,
        JWT_ALGORITHM="ES256",
        JWT_PRIVATE_KEY=private_pem(generate_private_key("ES256")).decode(),
        JWT_VERIFY_KEYS=[_write(tmp_path / "rsa.pem", public_pem(previous))],
    )

    assert sorted(key.algorithm for key in keys.verification.values()) == ["ES256", "RS256"]


def _encrypted_pem() -> bytes:
    return generate_private_key("ES256").private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"passphrase"),
    )


ENCRYPTED_PRIVATE = _encrypted_pem().decode()
ES256_PUBLIC = public_pem(generate_private_key("ES256")).decode()
RS256_PRIVATE = private_pem(generate_private_key("RS256")).decode()
# The kinds of key the service refuses to sign with.
RSA_1024_PRIVATE = private_pem(
    rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
).decode()
P384_PRIVATE = private_pem(ec.generate_private_key(ec.SECP384R1())).decode()


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        (
            {"JWT_ALGORITHM": "ES256", "JWT_PRIVATE_KEY": "-----BEGIN PRIVATE KEY-----\nAAAA\n"},
            "JWT_PRIVATE_KEY is not a PEM private key (not a key this service can read)",
        ),
        (
            {"JWT_ALGORITHM": "ES256", "JWT_PRIVATE_KEY": ENCRYPTED_PRIVATE},
            "JWT_PRIVATE_KEY is not a PEM private key (it is encrypted; give the key "
            "unencrypted, file mode 0600)",
        ),
        (
            {"JWT_ALGORITHM": "ES256", "JWT_PRIVATE_KEY": ES256_PUBLIC},
            "JWT_PRIVATE_KEY is a public key; the signing key must be private",
        ),
        (
            {"JWT_ALGORITHM": "ES256", "JWT_PRIVATE_KEY": RS256_PRIVATE},
            "the signing key is a RS256 key, but JWT_ALGORITHM is ES256",
        ),
        (
            {"JWT_ALGORITHM": "RS256", "JWT_PRIVATE_KEY": RSA_1024_PRIVATE},
            "the signing key is an RSA key of fewer than 2048 bits",
        ),
        (
            {"JWT_ALGORITHM": "ES256", "JWT_PRIVATE_KEY": P384_PRIVATE},
            "the signing key is an EC key not on P-256 (ES256 needs P-256)",
        ),
        (
            {"JWT_ALGORITHM": "ES256", "JWT_PRIVATE_KEY": "x", "JWT_PRIVATE_KEY_FILE": "/x"},
            "set JWT_PRIVATE_KEY or JWT_PRIVATE_KEY_FILE, not both",
        ),
        (
            {"JWT_ALGORITHM": "ES256", "JWT_PRIVATE_KEY_FILE": "/nonexistent/key.pem"},
            "JWT_PRIVATE_KEY_FILE cannot be read (No such file or directory): "
            "/nonexistent/key.pem",
        ),
        (
            {"JWT_VERIFY_KEYS": ["/nonexistent/keys"]},
            "JWT_VERIFY_KEYS: /nonexistent/keys is not a file or directory",
        ),
        (
            {"APP_ENV": "production", "JWT_ALGORITHM": "EdDSA"},
            "JWT_ALGORITHM=EdDSA needs JWT_PRIVATE_KEY_FILE or JWT_PRIVATE_KEY; make a key pair "
            "with: python -m app keys generate --algorithm EdDSA",
        ),
    ],
    ids=["garbage", "encrypted", "public", "wrong-type", "short-rsa", "p384", "both",
         "unreadable", "no-verify-path", "production-without-key"],
)  # fmt: skip
def test_a_key_the_service_cannot_use_stops_startup_with_one_line(tmp_path, settings, message):
    with pytest.raises(ConfigurationError) as raised:
        _load(tmp_path, **settings)

    assert str(raised.value) == message


def test_a_verification_file_that_is_no_key_stops_startup_without_echoing_it(tmp_path):
    path = _write(tmp_path / "secret.pem", b"-----BEGIN PUBLIC KEY-----\nc2VjcmV0IGJ5dGVz\n")

    with pytest.raises(ConfigurationError) as raised:
        _load(tmp_path, JWT_VERIFY_KEYS=[path])

    assert str(raised.value) == (
        f"JWT_VERIFY_KEYS: {path} is not a readable PEM key (not a key this service can read)"
    )


def test_development_makes_a_private_key_once_in_the_instance_folder(tmp_path):
    first = _load(tmp_path, APP_ENV="development", JWT_ALGORITHM="ES256")
    second = _load(tmp_path, APP_ENV="development", JWT_ALGORITHM="ES256")

    path = tmp_path / "jwt-signing-es256.pem"
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert first.signing.kid == second.signing.kid
