"""Accounts as the systems of the five documents store them: one per hash format, made by the
libraries those systems use (bcrypt, argon2-cffi, Django's own hashers, werkzeug, hashlib),
never by the service's code."""

import hashlib
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import bcrypt
from argon2 import PasswordHasher
from argon2 import Type
from django.contrib.auth.hashers import Argon2PasswordHasher
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from werkzeug.security import generate_password_hash


@dataclass(frozen=True)
class LegacyUser:
    key: str
    password: str
    password_hash: str
    # The stored value is wrapped at import: too weak to keep as it came.
    weak: bool
    scheme: str | None = None

    @property
    def email(self) -> str:
        return f"{self.key}@legacy.example"

    def line(self, **extra: Any) -> dict[str, Any]:
        line: dict[str, Any] = {"email": self.email, "passwordHash": self.password_hash}
        if self.scheme:
            line["hashScheme"] = self.scheme
        return line | extra


def _bcrypt(password: str, cost: int, prefix: str = "$2b$") -> str:
    made = bcrypt.hashpw(password.encode(), bcrypt.gensalt(cost)).decode()
    return prefix + made[4:]


def _django_pbkdf2(password: str, iterations: int) -> str:
    hasher = PBKDF2PasswordHasher()
    return hasher.encode(password, hasher.salt(), iterations=iterations)


class _CheapDjangoArgon2(Argon2PasswordHasher):
    memory_cost = 1024
    time_cost = 1
    parallelism = 1


class _BoundedDjangoArgon2(Argon2PasswordHasher):
    """Django's argon2 at RFC 9106's second recommended setting (64 MiB, t=3, p=4): Django's
    own default (100 MiB, p=8) is above the service's 64 MiB ceiling and is refused."""

    memory_cost = 65536
    time_cost = 3
    parallelism = 4


@cache
def legacy_users() -> tuple[LegacyUser, ...]:
    """Every accepted format, strong and weak, each with its own password (made once: the
    strong ones cost what they cost their systems)."""
    argon2id = PasswordHasher(time_cost=2, memory_cost=19456, parallelism=1)
    weak_argon2i = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1, type=Type.I)
    return (
        LegacyUser("bcrypt2b", "blog reader 2b", _bcrypt("blog reader 2b", 10), weak=False),
        LegacyUser("bcrypt2a", "node bcryptjs 2a", _bcrypt("node bcryptjs 2a", 10, "$2a$"), False),
        LegacyUser("bcrypt2y", "php crypt 2y pw", _bcrypt("php crypt 2y pw", 4, "$2y$"), True),
        LegacyUser("argon2id", "argon two id pw", argon2id.hash("argon two id pw"), weak=False),
        LegacyUser("argon2i", "argon two i pw", weak_argon2i.hash("argon two i pw"), weak=True),
        LegacyUser(
            "djpbkdf2", "django pbkdf2 pw", _django_pbkdf2("django pbkdf2 pw", 600_000), False
        ),
        LegacyUser("djpbkdf2old", "old django pw", _django_pbkdf2("old django pw", 1000), True),
        LegacyUser(
            "djargon2", "django argon pw", _BoundedDjangoArgon2().encode(
                "django argon pw", _BoundedDjangoArgon2().salt()
            ), weak=False,
        ),
        LegacyUser(
            "djargon2weak", "django cheap argon", _CheapDjangoArgon2().encode(
                "django cheap argon", _CheapDjangoArgon2().salt()
            ), weak=True,
        ),
        LegacyUser(
            "wzscrypt", "flask scrypt pw", generate_password_hash("flask scrypt pw", "scrypt"),
            weak=False,
        ),
        LegacyUser(
            "wzpbkdf2", "flask pbkdf2 pw",
            generate_password_hash("flask pbkdf2 pw", "pbkdf2:sha256:1000"), weak=True,
        ),
        LegacyUser(
            "staff", "staff sha pw", hashlib.sha256(b"staff sha pw").hexdigest().upper(),
            weak=True, scheme="sha256",
        ),
    )  # fmt: skip


def write_lines(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path
