"""Foreign password hashes: recognised by their prefix, checked by their own libraries, judged
weak or strong, and recomputed exactly as the systems that made them would."""

import hashlib
import re

import pytest
from werkzeug.security import generate_password_hash

from app.core.passwords import foreign_hashes
from app.core.passwords import security
from tests.legacy_users import legacy_users

LEGACY = legacy_users()


@pytest.mark.parametrize("user", LEGACY, ids=lambda user: user.key)
def test_each_format_is_recognised_and_matches_only_its_password(user):
    stored = user.password_hash.lower() if user.scheme == "sha256" else user.password_hash
    fmt = foreign_hashes.recognise(stored, scheme=user.scheme)

    assert fmt is not None
    assert fmt.matches(stored, user.password.encode())
    assert not fmt.matches(stored, (user.password + "!").encode())


@pytest.mark.parametrize("user", LEGACY, ids=lambda user: user.key)
def test_each_format_is_judged_weak_or_strong_by_the_documented_floors(user):
    stored = user.password_hash.lower() if user.scheme == "sha256" else user.password_hash
    fmt = foreign_hashes.recognise(stored, scheme=user.scheme)

    assert fmt.is_strong(stored) is not user.weak


@pytest.mark.parametrize("user", LEGACY, ids=lambda user: user.key)
def test_recomputing_from_the_salt_part_gives_the_legacy_hash_back(user):
    """What wrapping relies on: the legacy value is made again from the typed password."""
    stored = user.password_hash.lower() if user.scheme == "sha256" else user.password_hash
    fmt = foreign_hashes.recognise(stored, scheme=user.scheme)

    assert fmt.recompute(fmt.salt_part(stored), user.password.encode()) == stored


@pytest.mark.parametrize("method", ["pbkdf2:sha256:1000", "pbkdf2:sha512:2000", "scrypt:1024:8:1"])
def test_werkzeug_hashes_are_recomputed_as_werkzeug_makes_them(method):
    """A canary for werkzeug.security._hash_internal, which foreign_hashes mirrors."""
    made = generate_password_hash("a password", method=method)
    fmt = foreign_hashes.FORMATS["werkzeug"]

    assert fmt.recompute(fmt.salt_part(made), b"a password") == made


def test_sha256_hex_is_recognised_only_when_the_line_names_it():
    digest = hashlib.sha256(b"pw").hexdigest()

    assert foreign_hashes.recognise(digest) is None
    assert foreign_hashes.recognise(digest, scheme="sha256").name == "sha256"


@pytest.mark.parametrize(
    "value",
    ["md5$x$y", "$2b$12$short", "$argon2d$v=19$m=1,t=1,p=1$c2FsdA$aGFzaA", "pbkdf2_sha1$1$s$h", ""],
)
def test_unknown_or_malformed_hashes_are_not_recognised(value):
    assert foreign_hashes.recognise(value) is None


@pytest.mark.parametrize(
    "value",
    [
        "$2b$16$" + "a" * 53,
        "$argon2id$v=19$m=4194304,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
        "pbkdf2_sha256$20000000$salt$" + "A" * 43 + "=",
        "scrypt:1048576:16:1$salt$abcd",
    ],
)
def test_a_hash_whose_cost_would_stall_a_worker_is_unusable(value):
    fmt = foreign_hashes.recognise(value)

    with pytest.raises(foreign_hashes.UnusableHashError):
        fmt.is_strong(value)


# Each just above a ceiling of about one second of one core or 64 MiB, and just within it.
ABOVE_AND_WITHIN = [
    ("$2b$15$" + "a" * 53, "$2b$14$" + "a" * 53, "bcrypt cost must be 4 to 14."),
    ("$argon2id$v=19$m=65537,t=1,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
     "$argon2id$v=19$m=65536,t=16,p=8$c29tZXNhbHQ$aGFzaGhhc2hoYXNo",
     "argon2 cost must be at most m=65536 (KiB), m·t=1048576 and p=8."),
    ("$argon2id$v=19$m=65536,t=17,p=1$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", None,
     "argon2 cost must be at most m=65536 (KiB), m·t=1048576 and p=8."),
    ("$argon2id$v=19$m=19456,t=2,p=9$c29tZXNhbHQ$aGFzaGhhc2hoYXNo", None,
     "argon2 cost must be at most m=65536 (KiB), m·t=1048576 and p=8."),
    ("pbkdf2_sha256$2000001$salt$" + "A" * 43 + "=", "pbkdf2_sha256$2000000$salt$" + "A" * 43 + "=",
     "PBKDF2-SHA256 iterations must be 1 to 2000000."),
    ("pbkdf2:sha512:1000001$salt$abcd", "pbkdf2:sha512:1000000$salt$abcd",
     "PBKDF2-SHA512 iterations must be 1 to 1000000."),
    ("pbkdf2:sha1:2500001$salt$abcd", "pbkdf2:sha1:2500000$salt$abcd",
     "PBKDF2-SHA1 iterations must be 1 to 2500000."),
    ("scrypt:1048576:1:1$salt$abcd", "scrypt:65536:8:4$salt$abcd",
     "scrypt's n must be a power of two, n·r at most 2^19 (64 MiB) and n·r·p at most 2^21."),
    ("scrypt:65536:8:5$salt$abcd", None,
     "scrypt's n must be a power of two, n·r at most 2^19 (64 MiB) and n·r·p at most 2^21."),
]  # fmt: skip


@pytest.mark.parametrize(("above", "within", "message"), ABOVE_AND_WITHIN)
def test_the_ceilings_name_themselves_and_admit_what_is_just_within(above, within, message):
    with pytest.raises(foreign_hashes.UnusableHashError, match=re.escape(message)):
        foreign_hashes.recognise(above).is_strong(above)
    if within is not None:
        foreign_hashes.recognise(within).is_strong(within)


def test_djangos_default_argon2_is_above_the_memory_ceiling():
    """Django's Argon2PasswordHasher defaults to 100 MiB: above 64 MiB, refused by name (the
    README says to import such accounts without their hash, so they reset)."""
    from django.contrib.auth.hashers import Argon2PasswordHasher

    stored = Argon2PasswordHasher().encode("a password", Argon2PasswordHasher().salt())

    with pytest.raises(foreign_hashes.UnusableHashError, match="m=65536"):
        foreign_hashes.recognise(stored).is_strong(stored)


def test_a_stored_hash_above_the_ceilings_matches_nothing_and_costs_one_normal_check(
    app_context,
):
    """A hash imported before the ceilings came down (argon2 at 1 GiB took 52 s a login):
    its account logs in after a reset, and no check of it is ever run."""
    from argon2 import PasswordHasher

    stored = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1).hash("a password")
    costly = stored.replace("m=8,t=1,p=1", "m=1048576,t=20,p=16")

    assert security.check_password(costly, "a password") == security.PasswordCheck(False)


def test_a_werkzeug_hash_of_other_parameters_is_held_to_the_ceilings_too(app_context):
    from werkzeug.security import generate_password_hash

    within = generate_password_hash("a password", method="scrypt:4096:8:1")
    costly = within.replace("scrypt:4096:8:1", "scrypt:1048576:8:1", 1)

    assert security.check_password(within, "a password").matches
    assert not security.check_password(costly, "a password").matches


def test_checks_of_hashes_made_elsewhere_run_no_more_than_allowed_at_once(app, monkeypatch):
    """Eight threads check imported bcrypt hashes at once; a worker runs two checks at a
    time (AUTH_FOREIGN_HASH_CHECKS_AT_ONCE), and the others wait for a slot."""
    import threading
    from dataclasses import replace

    import bcrypt

    running, most = 0, 0
    lock = threading.Lock()
    real = foreign_hashes.FORMATS["bcrypt"]

    def counted(stored: str, password: bytes) -> bool:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        try:
            return real.verify(stored, password)
        finally:
            with lock:
                running -= 1

    monkeypatch.setitem(foreign_hashes.FORMATS, "bcrypt", replace(real, verify=counted))
    stored = bcrypt.hashpw(b"a password", bcrypt.gensalt(10)).decode()

    def check() -> bool:
        with app.app_context():
            return security.check_password(stored, "a password").matches

    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _n: check(), range(8)))

    assert results == [True] * 8
    assert most == app.config["AUTH_FOREIGN_HASH_CHECKS_AT_ONCE"] == 2


def test_bcrypt_reads_the_first_72_bytes_as_the_system_that_made_it_did():
    import bcrypt

    long_password = "x" * 80
    stored = bcrypt.hashpw(long_password.encode()[:72], bcrypt.gensalt(4)).decode()

    assert foreign_hashes.FORMATS["bcrypt"].matches(stored, long_password.encode())


@pytest.mark.parametrize("user", [u for u in LEGACY if u.weak], ids=lambda user: user.key)
def test_a_wrapped_hash_checks_the_password_and_holds_no_legacy_value(app_context, user):
    stored = user.password_hash.lower() if user.scheme == "sha256" else user.password_hash
    fmt = foreign_hashes.recognise(stored, scheme=user.scheme)

    wrapped = security.legacy_wrapper()(fmt, stored)

    assert stored not in wrapped
    assert len(wrapped) == security.wrapped_length(fmt, stored)
    assert security.check_password(wrapped, user.password).matches
    assert security.check_password(wrapped, user.password).outdated
    assert not security.check_password(wrapped, user.password + "?").matches


def test_a_hash_of_the_services_current_method_is_not_outdated(app_context):
    stored = security.hash_password("a password")

    assert security.check_password(stored, "a password") == security.PasswordCheck(True)


def test_a_werkzeug_hash_of_another_method_is_kept_as_the_services_own_kind(app_context):
    """A hash made before AUTH_PASSWORD_HASH_METHOD changed (or imported above the floors)
    is not replaced at login: each login would pay a new hash for no gain in kind."""
    stored = generate_password_hash("a password", method="pbkdf2:sha256:2")

    assert security.check_password(stored, "a password") == security.PasswordCheck(True)
    assert not security.check_password(stored, "another").matches


def test_an_unusable_password_matches_nothing_and_spends_one_check(app_context, monkeypatch):
    burnt = []
    monkeypatch.setattr(security, "burn_password_check", burnt.append)
    stored = security.unusable_password()

    assert not security.check_password(stored, stored).matches
    assert burnt == [stored]
