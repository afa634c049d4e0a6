"""Hashing of passwords and client keys."""

import re

from app.core.passwords import security


def test_a_password_hash_verifies_only_its_password(app_context):
    hashed = security.hash_password("s3cret-password")

    assert security.verify_password(hashed, "s3cret-password")
    assert not security.verify_password(hashed, "s3cret-passwore")


def test_two_hashes_of_one_password_differ(app_context):
    assert security.hash_password("same password") != security.hash_password("same password")


def test_production_hashes_with_scrypt(app):
    from config import ProductionConfig

    app.config["AUTH_PASSWORD_HASH_METHOD"] = ProductionConfig.AUTH_PASSWORD_HASH_METHOD
    with app.app_context():
        assert security.hash_password("a password").startswith("scrypt:")


def test_client_keys_are_64_hex_characters_and_stored_hashed():
    key = security.generate_client_key()
    stored = security.hash_client_key(key)

    assert re.fullmatch(r"[0-9a-f]{64}", key)
    assert key not in stored
    assert security.client_key_matches(key, stored)
    tampered = key[:-1] + ("1" if key.endswith("0") else "0")
    assert not security.client_key_matches(tampered, stored)
