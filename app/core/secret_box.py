"""Secrets the service must read back (TOTP seeds), encrypted at rest with Fernet
(AES-128-CBC with HMAC-SHA256, from ``cryptography``).

``AUTH_MFA_ENCRYPTION_KEY`` holds one Fernet key, or several separated by commas: the first
encrypts, every one decrypts, so a key is rotated by putting the new one first and dropping
the old one once ``flask mfa reencrypt`` has run.
"""

import base64
from typing import cast

from cryptography.fernet import Fernet
from cryptography.fernet import InvalidToken
from cryptography.fernet import MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import Flask
from flask import current_app

from app.core.configuration import ConfigurationError

_EXTENSION_KEY = "authsvc.secret_box"


class SecretBox:
    def __init__(self, keys: list[str]) -> None:
        self._fernet = MultiFernet([Fernet(key.encode()) for key in keys])

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        """The secret; ConfigurationError when no configured key opens it (a key was lost)."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except InvalidToken as error:
            raise ConfigurationError(
                "a stored secret opens with none of AUTH_MFA_ENCRYPTION_KEY's keys"
            ) from error

    def reseal(self, sealed: str) -> str:
        """The same secret under the first key."""
        return self._fernet.rotate(sealed.encode("ascii")).decode("ascii")


def purpose_fernet(keys: str, purpose: str) -> MultiFernet:
    """Fernet keys for one other ``purpose`` (an OpenID sign-in in progress), derived from
    AUTH_MFA_ENCRYPTION_KEY's keys by HKDF-SHA256: no ciphertext of one purpose opens as
    another's, and rotating the configured keys rotates these too."""
    derived = []
    for key in parse_keys(keys):
        secret = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=f"authsvc {purpose}".encode()
        ).derive(base64.urlsafe_b64decode(key))
        derived.append(Fernet(base64.urlsafe_b64encode(secret)))
    return MultiFernet(derived)


def parse_keys(value: str) -> list[str]:
    """The keys of ``AUTH_MFA_ENCRYPTION_KEY``, each checked to be a Fernet key."""
    keys = [key.strip() for key in value.split(",") if key.strip()]
    for key in keys:
        try:
            Fernet(key.encode())
        except ValueError as error:
            raise ConfigurationError(
                "AUTH_MFA_ENCRYPTION_KEY must be Fernet keys (32 url-safe base64 bytes), made "
                "with python3 -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'"
            ) from error
    return keys


def new_key() -> str:
    return Fernet.generate_key().decode("ascii")


def install_secret_box(app: Flask) -> None:
    app.extensions[_EXTENSION_KEY] = SecretBox(parse_keys(app.config["AUTH_MFA_ENCRYPTION_KEY"]))


def secret_box() -> SecretBox:
    return cast(SecretBox, current_app.extensions[_EXTENSION_KEY])
