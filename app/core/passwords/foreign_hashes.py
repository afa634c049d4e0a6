"""Password hashes made by other systems, so their users keep their passwords here.

Each format is recognised by its own prefix, except the staff system's unsalted SHA-256 hex,
which only an import file can name. Foreign hashes are checked against the password exactly
as typed (UTF-8), as the systems that made them did; the service's own hashes check its NFKC
form (app/core/passwords/passwords.py).

A hash weaker than the floors below is never stored as it came: the service's own KDF is
applied over the legacy value (``wrap``), and a login computes the legacy value from the typed
password, then checks it against the service's hash. Every imported hash is replaced by the
service's own at its user's first successful login (app/core/accounts/accounts.py).
"""

import base64
import hashlib
import hmac
import re
from collections.abc import Callable
from dataclasses import dataclass

import bcrypt
from argon2 import PasswordHasher
from argon2 import Type
from argon2 import extract_parameters
from argon2 import low_level
from argon2.exceptions import InvalidHashError
from argon2.exceptions import VerificationError

# The wrapped form: "wrapped|<format>|<the legacy salt and cost>|<the service's hash>".
WRAPPED = "wrapped"
# An account without a usable password ("!" and random text, never a hash of anything).
UNUSABLE_PREFIX = "!"
SHA256 = "sha256"

# OWASP Password Storage Cheat Sheet (2023) minimums; scrypt's is werkzeug's own default,
# the service's. Below these a hash is wrapped at import.
PBKDF2_FLOORS = {"sha1": 1_300_000, "sha256": 600_000, "sha512": 210_000}
BCRYPT_FLOOR = 10
ARGON2_FLOOR_KIB_PASSES = 19_456 * 2
ARGON2_FLOOR_KIB = 7_168
SCRYPT_FLOOR = 2**15 * 8
# Ceilings: no check of one password may cost more than about a second of one core or 64 MiB
# (measured: docs/decisions/0003-password-cost-ceilings.md), so an import file cannot make
# every later login of an account stall a worker. The import refuses a hash above them, and
# a stored one above them (imported before they were lowered) matches no password.
BCRYPT_CEILING = 14  # 0.96 s
PBKDF2_CEILINGS = {"sha1": 2_500_000, "sha256": 2_000_000, "sha512": 1_000_000}  # 0.75-0.85 s
ARGON2_CEILING_KIB = 65_536  # 64 MiB
ARGON2_CEILING_KIB_PASSES = 65_536 * 16  # 0.77 s at 64 MiB
ARGON2_CEILING_LANES = 8
SCRYPT_CEILING_MEMORY = 2**19  # n·r: 128·n·r bytes = 64 MiB
SCRYPT_CEILING = 2**21  # n·r·p: 0.76 s

BCRYPT_PASSWORD_BYTES = 72  # what bcrypt reads; longer passwords were cut there when hashed


class UnusableHashError(ValueError):
    """A hash in a known format whose parameters are out of bounds."""


@dataclass(frozen=True)
class HashFormat:
    """One foreign format: how to recognise, check, judge and recompute its hashes."""

    name: str
    pattern: re.Pattern[str]
    # The hash's salt and cost, everything needed to recompute it from a password.
    salt_part: Callable[[str], str]
    # The whole hash this format makes from a salt part and a password.
    recompute: Callable[[str, bytes], str]
    # False for a hash too weak to keep as it came; raises UnusableHashError if too costly.
    is_strong: Callable[[str], bool]
    verify: Callable[[str, bytes], bool] | None = None

    def matches(self, stored: str, password: bytes) -> bool:
        if self.verify is not None:
            return self.verify(stored, password)
        computed = self.recompute(self.salt_part(stored), password)
        return hmac.compare_digest(computed.encode(), stored.encode())


# bcrypt ($2a$, $2b$, $2y$), as written by node's bcrypt and bcryptjs, PHP and Go.


def _bcrypt_password(password: bytes) -> bytes:
    return password[:BCRYPT_PASSWORD_BYTES]


def _bcrypt_verify(stored: str, password: bytes) -> bool:
    return bcrypt.checkpw(_bcrypt_password(password), stored.encode())


def _bcrypt_recompute(salt_part: str, password: bytes) -> str:
    return bcrypt.hashpw(_bcrypt_password(password), salt_part.encode()).decode()


def _bcrypt_strong(stored: str) -> bool:
    cost = int(stored[4:6])
    if not 4 <= cost <= BCRYPT_CEILING:
        raise UnusableHashError(f"bcrypt cost must be 4 to {BCRYPT_CEILING}.")
    return cost >= BCRYPT_FLOOR


# argon2 ($argon2id$, $argon2i$), as written by argon2-cffi, node-argon2 and PHP.

_ARGON2_TYPES = {"argon2id": Type.ID, "argon2i": Type.I}


def _argon2_verify(stored: str, password: bytes) -> bool:
    try:
        return PasswordHasher().verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def _argon2_salt_part(stored: str) -> str:
    """Everything but the hash, and the hash's length in bytes."""
    return f"{_before_last_dollar(stored)}${extract_parameters(stored).hash_len}"


def _argon2_recompute(salt_part: str, password: bytes) -> str:
    head, hash_len = salt_part.rsplit("$", 1)
    parameters = extract_parameters(head + "$AAAA")
    salt = _unpadded_b64decode(head.rsplit("$", 1)[1])
    return low_level.hash_secret(
        password,
        salt,
        time_cost=parameters.time_cost,
        memory_cost=parameters.memory_cost,
        parallelism=parameters.parallelism,
        hash_len=int(hash_len),
        type=_ARGON2_TYPES[head.split("$")[1]],
        version=parameters.version,
    ).decode()


def _argon2_strong(stored: str) -> bool:
    try:
        parameters = extract_parameters(stored)
    except InvalidHashError as error:
        raise UnusableHashError("Not a valid argon2 hash.") from error
    memory, passes = parameters.memory_cost, parameters.time_cost
    if (
        memory > ARGON2_CEILING_KIB
        or memory * passes > ARGON2_CEILING_KIB_PASSES
        or parameters.parallelism > ARGON2_CEILING_LANES
    ):
        raise UnusableHashError(
            f"argon2 cost must be at most m={ARGON2_CEILING_KIB} (KiB), "
            f"m·t={ARGON2_CEILING_KIB_PASSES} and p={ARGON2_CEILING_LANES}."
        )
    return memory >= ARGON2_FLOOR_KIB and memory * passes >= ARGON2_FLOOR_KIB_PASSES


def _unpadded_b64decode(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))


# Django: "pbkdf2_sha256$<iterations>$<salt>$<base64>" and "argon2" + an argon2 hash.


def _django_pbkdf2_recompute(salt_part: str, password: bytes) -> str:
    _, iterations, salt = salt_part.split("$")
    digest = hashlib.pbkdf2_hmac("sha256", password, salt.encode(), int(iterations))
    return f"{salt_part}${base64.b64encode(digest).decode()}"


def _django_pbkdf2_strong(stored: str) -> bool:
    return _pbkdf2_strong("sha256", int(stored.split("$")[1]))


def _pbkdf2_strong(digest: str, iterations: int) -> bool:
    ceiling = PBKDF2_CEILINGS[digest]
    if not 1 <= iterations <= ceiling:
        raise UnusableHashError(f"PBKDF2-{digest.upper()} iterations must be 1 to {ceiling}.")
    return iterations >= PBKDF2_FLOORS[digest]


def _django_argon2_verify(stored: str, password: bytes) -> bool:
    return _argon2_verify(stored.removeprefix("argon2"), password)


def _django_argon2_recompute(salt_part: str, password: bytes) -> str:
    return "argon2" + _argon2_recompute(salt_part.removeprefix("argon2"), password)


# werkzeug: "pbkdf2:<digest>:<iterations>$<salt>$<hex>" and "scrypt:<n>:<r>:<p>$<salt>$<hex>",
# recomputed as werkzeug.security._hash_internal does (tests/core/passwords/test_foreign_hashes.py
# holds the two to the same result).


def _werkzeug_recompute(salt_part: str, password: bytes) -> str:
    method, salt = salt_part.split("$")
    name, *args = method.split(":")
    if name == "scrypt":
        n, r, p = map(int, args)
        digest = hashlib.scrypt(password, salt=salt.encode(), n=n, r=r, p=p, maxmem=132 * n * r * p)
    else:
        digest = hashlib.pbkdf2_hmac(args[0], password, salt.encode(), int(args[1]))
    return f"{salt_part}${digest.hex()}"


def _werkzeug_strong(stored: str) -> bool:
    name, *args = stored.split("$")[0].split(":")
    if name == "pbkdf2":
        return _pbkdf2_strong(args[0], int(args[1]))
    n, r, p = map(int, args)
    costly = n * r > SCRYPT_CEILING_MEMORY or n * r * p > SCRYPT_CEILING
    if n < 2 or n & (n - 1) or costly or not r or not p:
        raise UnusableHashError(
            "scrypt's n must be a power of two, n·r at most 2^19 (64 MiB) and n·r·p at most 2^21."
        )
    return n * r * p >= SCRYPT_FLOOR


# The staff system's unsalted SHA-256 hex: always wrapped, never kept.


def _sha256_recompute(_salt_part: str, password: bytes) -> str:
    return hashlib.sha256(password).hexdigest()


def _before_last_dollar(stored: str) -> str:
    return stored.rsplit("$", 1)[0]


_ARGON2 = r"\$argon2(?:id|i)\$(?:v=\d+\$)?m=\d+,t=\d+,p=\d+\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+"

FORMATS = {
    fmt.name: fmt
    for fmt in (
        HashFormat(
            name="bcrypt",
            pattern=re.compile(r"\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}"),
            salt_part=lambda stored: stored[:29],
            recompute=_bcrypt_recompute,
            is_strong=_bcrypt_strong,
            verify=_bcrypt_verify,
        ),
        HashFormat(
            name="argon2",
            pattern=re.compile(_ARGON2),
            salt_part=_argon2_salt_part,
            recompute=_argon2_recompute,
            is_strong=_argon2_strong,
            verify=_argon2_verify,
        ),
        HashFormat(
            name="django_pbkdf2_sha256",
            pattern=re.compile(r"pbkdf2_sha256\$\d{1,9}\$[^$|]+\$[A-Za-z0-9+/]{43}="),
            salt_part=_before_last_dollar,
            recompute=_django_pbkdf2_recompute,
            is_strong=_django_pbkdf2_strong,
        ),
        HashFormat(
            name="django_argon2",
            pattern=re.compile("argon2" + _ARGON2),
            salt_part=lambda stored: "argon2" + _argon2_salt_part(stored.removeprefix("argon2")),
            recompute=_django_argon2_recompute,
            is_strong=lambda stored: _argon2_strong(stored.removeprefix("argon2")),
            verify=_django_argon2_verify,
        ),
        HashFormat(
            name="werkzeug",
            pattern=re.compile(
                r"(?:pbkdf2:(?:sha1|sha256|sha512):\d{1,9}|scrypt:\d{1,8}:\d{1,3}:\d{1,3})"
                r"\$[^$|]+\$[0-9a-f]+"
            ),
            salt_part=_before_last_dollar,
            recompute=_werkzeug_recompute,
            is_strong=_werkzeug_strong,
        ),
        HashFormat(
            name=SHA256,
            pattern=re.compile(r"[0-9a-f]{64}"),
            salt_part=lambda _stored: "",
            recompute=_sha256_recompute,
            is_strong=lambda _stored: False,
        ),
    )
}


def recognise(value: str, *, scheme: str | None = None) -> HashFormat | None:
    """The format of a hash by its own prefix; SHA-256 hex only when ``scheme`` names it."""
    if scheme == SHA256:
        candidates = [FORMATS[SHA256]]
    else:
        candidates = [fmt for name, fmt in FORMATS.items() if name != SHA256]
    for fmt in candidates:
        if fmt.pattern.fullmatch(value):
            return fmt
    return None


def is_wrapped(stored: str) -> bool:
    return stored.startswith(WRAPPED + "|")


def wrapped_parts(stored: str) -> tuple[HashFormat, str, str] | None:
    """The legacy format, its salt part and the service's hash of a wrapped value."""
    parts = stored.split("|", 3)
    if len(parts) != 4 or parts[0] != WRAPPED or parts[1] not in FORMATS:
        return None
    return FORMATS[parts[1]], parts[2], parts[3]


def wrap(fmt: HashFormat, legacy: str, service_hash: Callable[[str], str]) -> str:
    """The value to store for a weak ``legacy`` hash: its salt and cost in clear, and the
    service's KDF over the legacy hash itself (never the legacy hash)."""
    return "|".join((WRAPPED, fmt.name, fmt.salt_part(legacy), service_hash(legacy)))


def legacy_value(fmt: HashFormat, salt_part: str, password: str) -> str:
    """What the legacy system would have stored for ``password``: the value a wrapped hash
    holds the service's KDF of."""
    return fmt.recompute(salt_part, password.encode())
