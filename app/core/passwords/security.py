"""Password and secret hashing.

No check of one password costs more than about a second of one core or 64 MiB: hashes made
elsewhere (imported, or of the service's own kind with other parameters) are held to the
ceilings of app/core/passwords/foreign_hashes.py when checked, and at most
AUTH_FOREIGN_HASH_CHECKS_AT_ONCE of them run at once in a worker; the others wait their turn.
"""

import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from functools import partial
from typing import cast

from flask import Flask
from flask import current_app
from werkzeug.security import check_password_hash
from werkzeug.security import generate_password_hash

from app.core.passwords import foreign_hashes
from app.core.passwords.passwords import normalize_password


@dataclass(frozen=True)
class PasswordCheck:
    matches: bool
    # Matched an imported hash (foreign or wrapped), which the service's own replaces.
    outdated: bool = False
    format_name: str = "werkzeug"


def hash_password(password: str) -> str:
    return _service_hash(normalize_password(password))


def unusable_password() -> str:
    """A value no password matches: an account that logs in only after a reset."""
    return foreign_hashes.UNUSABLE_PREFIX + secrets.token_urlsafe(24)


def has_usable_password(stored: str) -> bool:
    """Whether some password can match ``stored`` (not so for an account made by an OpenID
    sign-in, or imported without a password, until a reset gives it one)."""
    return not stored.startswith(foreign_hashes.UNUSABLE_PREFIX)


def verify_password(password_hash: str, password: str) -> bool:
    return check_password(password_hash, password).matches


def check_password(stored: str, password: str) -> PasswordCheck:
    """Whether ``password`` matches the stored value, in any of the forms the service stores:
    its own hash, a wrapped legacy hash, or a foreign hash kept as imported. An account
    without a usable password still spends one check, so it answers like any other."""
    try:
        if _is_current_service_hash(stored):
            return PasswordCheck(check_password_hash(stored, normalize_password(password)))
        with _foreign_check_slot():
            return _check_made_elsewhere(stored, password)
    except ValueError:
        burn_password_check(password)
        return PasswordCheck(False)


def _check_made_elsewhere(stored: str, password: str) -> PasswordCheck:
    if is_service_hash(stored):
        # werkzeug's hashes are the service's own kind, whatever their method: one made
        # before AUTH_PASSWORD_HASH_METHOD changed, or imported above the floors, stays
        # until the password changes (a login must not pay a new hash for it), within the
        # ceilings (a costlier one raises UnusableHashError, a ValueError).
        foreign_hashes.FORMATS["werkzeug"].is_strong(stored)
        return PasswordCheck(check_password_hash(stored, normalize_password(password)))
    return _check_foreign(stored, password)


def _is_current_service_hash(stored: str) -> bool:
    return stored.startswith(_method_prefix(current_app.config["AUTH_PASSWORD_HASH_METHOD"]))


@cache
def _method_prefix(method: str) -> str:
    """How werkzeug spells ``method``'s parameters at the head of its hashes."""
    return _dummy_hash(method).split("$", 1)[0] + "$"


_SLOTS_KEY = "authsvc.foreign_hash_slots"


def install_password_checks(app: Flask) -> None:
    """The worker's slots for checks of hashes made elsewhere."""
    app.extensions[_SLOTS_KEY] = threading.BoundedSemaphore(
        app.config["AUTH_FOREIGN_HASH_CHECKS_AT_ONCE"]
    )


@contextmanager
def _foreign_check_slot() -> Iterator[None]:
    slots = cast(threading.BoundedSemaphore, current_app.extensions[_SLOTS_KEY])
    with slots:
        yield


def _check_foreign(stored: str, password: str) -> PasswordCheck:
    wrapped = foreign_hashes.wrapped_parts(stored)
    if wrapped is not None:
        fmt, salt_part, service_hash = wrapped
        # werkzeug's hashes, made here or by another Flask service, hash the NFKC form.
        typed = normalize_password(password) if fmt.name == "werkzeug" else password
        legacy = foreign_hashes.legacy_value(fmt, salt_part, typed)
        matches = check_password_hash(service_hash, legacy)
        return PasswordCheck(matches, outdated=matches, format_name=f"wrapped {fmt.name}")
    foreign = foreign_hashes.recognise(stored)
    if foreign is None:
        raise ValueError("no usable password")
    foreign.is_strong(stored)  # a hash above the ceilings raises UnusableHashError
    matches = foreign.matches(stored, password.encode())
    return PasswordCheck(matches, outdated=matches, format_name=foreign.name)


LegacyWrapper = Callable[[foreign_hashes.HashFormat, str], str]


def legacy_wrapper() -> LegacyWrapper:
    """A function wrapping weak legacy hashes in the service's KDF, usable off the app
    context (the import runs it on a thread per core: hashlib releases the GIL)."""
    method = current_app.config["AUTH_PASSWORD_HASH_METHOD"]

    def wrap(fmt: foreign_hashes.HashFormat, legacy: str) -> str:
        return foreign_hashes.wrap(fmt, legacy, partial(generate_password_hash, method=method))

    return wrap


def wrapped_length(fmt: foreign_hashes.HashFormat, legacy: str) -> int:
    """How long the wrapped value of ``legacy`` will be (werkzeug's salts have one length)."""
    method = current_app.config["AUTH_PASSWORD_HASH_METHOD"]
    return len(foreign_hashes.wrap(fmt, legacy, lambda _legacy: _dummy_hash(method)))


def is_service_hash(stored: str) -> bool:
    """A hash the service made (or could have): werkzeug's, not imported, wrapped or unusable."""
    return stored.startswith(("scrypt:", "pbkdf2:"))


def _service_hash(text: str) -> str:
    return generate_password_hash(text, method=current_app.config["AUTH_PASSWORD_HASH_METHOD"])


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
