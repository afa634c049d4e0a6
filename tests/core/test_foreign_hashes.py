"""Foreign password hashes: recognised by their prefix, checked by their own libraries, judged
weak or strong, and recomputed exactly as the systems that made them would."""

import hashlib

import pytest
from werkzeug.security import generate_password_hash

from app.core import foreign_hashes
from app.core import security
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
