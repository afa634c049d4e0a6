"""The password policy (OWASP ASVS 5 V6.2) through every endpoint that sets a password."""

import pytest

from tests.factories import PASSWORD
from tests.factories import make_user

LONG = "x" * 129


def _register(client, password, email="new.person@example.com"):
    return client.post("/api/v1/auth/register", json={"email": email, "password": password})


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short12", "Password must be 8 to 128 characters long."),
        ("password", "This password is too common."),
        ("Password123", "This password is too common."),
        ("QWERTYUIOP", "This password is too common."),
        ("new.person@example.com", "The password must not be the username or email."),
        ("NEW.PERSON", "The password must not be the username or email."),
    ],
)
def test_register_refuses_a_weak_password(client, password, message):
    """ASVS 5 V6.2.1 (at least 8), V6.2.4 (not a common password), V6.2.11 (not the
    identity): 400 in the blog's format and no account created."""
    response = _register(client, password)

    assert response.status_code == 400
    assert response.get_json() == {
        "error": "ValidationError",
        "message": message,
        "details": {"password": [message]},
    }
    assert (
        client.post(
            "/api/v1/auth/login", json={"email": "new.person@example.com", "password": password}
        ).status_code
        == 400
    )


def test_a_password_over_the_maximum_is_refused_before_hashing(client, monkeypatch):
    """ASVS 5 V6.2.9 allows long passwords, but one over the configured maximum is refused
    before any hashing work is spent on it."""
    from app.core.passwords import security

    hashed = []
    monkeypatch.setattr(security, "generate_password_hash", lambda *a, **k: hashed.append(a))
    monkeypatch.setattr(security, "check_password_hash", lambda *a, **k: hashed.append(a))

    register = _register(client, LONG)
    login = client.post("/api/v1/auth/login", json={"email": "a@example.com", "password": LONG})

    assert register.status_code == login.status_code == 400
    assert register.get_json()["details"] == {"password": ["Longer than maximum length 128."]}
    assert hashed == []


def test_the_length_limits_are_configurable(app, client):
    """ASVS 5 V6.2.1: the minimum can be raised by configuration."""
    app.config["AUTH_PASSWORD_MIN_LENGTH"] = 12

    response = _register(client, "eleven chrs")

    assert response.get_json()["message"] == "Password must be 12 to 128 characters long."


def test_spaces_count_and_nothing_is_truncated(app_context, client):
    """ASVS 5 V6.2.5 and V6.2.7: the password is verified exactly as set, all of it."""
    make_user(email="exact@example.com", password="  spaced  out passphrase  ")

    def login(password):
        return client.post(
            "/api/v1/auth/login", json={"email": "exact@example.com", "password": password}
        ).status_code

    assert login("  spaced  out passphrase  ") == 200
    assert login("spaced  out passphrase") == 400
    assert login("  spaced  out passphrase  x") == 400


def test_unicode_passwords_are_normalised_once_nfkc(app_context, client):
    """ASVS 5 V6.2.7: a password typed with full-width characters on one keyboard and
    ASCII on another is the same password (NFKC)."""
    make_user(email="unicode@example.com", password="ｐａｓｓｐｈｒａｓｅ ２０２４")

    response = client.post(
        "/api/v1/auth/login", json={"email": "unicode@example.com", "password": "passphrase 2024"}
    )

    assert response.status_code == 200


def test_change_password_applies_the_same_policy(app_context, client):
    """ASVS 5 V6.2.4: the staff change-password refuses a common password too."""
    user = make_user()
    token = client.post(
        "/api/auth/login", json={"username": user.username, "password": PASSWORD}
    ).get_json()["token"]

    response = client.post(
        "/api/auth/change-password",
        json={"currentPassword": PASSWORD, "newPassword": "iloveyou"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert response.status_code == 400
    assert response.get_json() == {"error": "This password is too common."}


def test_the_cli_applies_the_same_policy(runner):
    """ASVS 5 V6.2.4: operators cannot set a common password either."""
    result = runner.invoke(
        args=["users", "create", "--username", "ops", "--email", "ops@example.com",
              "--password", "123456789"]
    )  # fmt: skip

    assert result.exit_code == 1
    assert result.output == "Error: This password is too common.\n"
