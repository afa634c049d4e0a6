"""Password and secret hashing."""

import hashlib
import hmac
import secrets
from functools import cache

from flask import current_app
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from app.core.passwords import normalize_password


def hash_password(password: str) -> str:
    method = current_app.config["AUTH_PASSWORD_HASH_METHOD"]
    return generate_password_hash(normalize_password(password), method=method)


def verify_password(password_hash: str, password: str) -> bool:
    return check_password_hash(password_hash, normalize_password(password))


def burn_password_check(password: str) -> None:
    """Spend the time of one real password check, so an unknown account answers as slowly
    as a known one (OWASP ASVS 5, V6.3: no account enumeration through timing)."""
    method = current_app.config["AUTH_PASSWORD_HASH_METHOD"]
    check_password_hash(_dummy_hash(method), normalize_password(password))


@cache
def _dummy_hash(method: str) -> str:
    return generate_password_hash(secrets.token_urlsafe(16), method=method)


def generate_client_key() -> str:
    """A client key: 64 hex characters (32 random bytes)."""
    return secrets.token_hex(32)


def hash_client_key(key: str) -> str:
    """Client keys carry 256 random bits, so a fast hash is enough to keep them unusable
    if the table leaks; a slow KDF would only slow every client login."""
    return hashlib.sha256(key.encode()).hexdigest()


def client_key_matches(key: str, key_hash: str) -> bool:
    return hmac.compare_digest(hash_client_key(key), key_hash)
