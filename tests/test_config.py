"""Startup configuration: production refuses weak secrets; development keeps its own."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from flask import Flask

from app import create_app
from app.api import UnknownDialectError
from app.core.audit.writer import audit_writer
from app.core.mail.mail import mailer
from app.database import db
from app.startup import ConfigurationError
from app.startup import settle_config
from config import DevelopmentConfig
from tests.conftest import make_app
from tests.factories import unique_email
from tests.signing import TEST_MFA_KEY
from tests.signing import TEST_SECRET

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    "secret",
    [
        None,
        "",
        "changeme",
        "a" * 200,
        "0123456789abcdef" * 7,  # 112 hex characters: 56 bytes
        "correct horse battery staple " * 2,
    ],
)
def test_production_refuses_a_missing_or_weak_secret(secret, tmp_path):
    overrides = {"JWT_SECRET_KEY": secret, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db"}

    with pytest.raises(ConfigurationError, match="JWT_SECRET_KEY is missing or weak"):
        create_app("production", overrides)


def test_production_accepts_64_random_bytes_as_hex(tmp_path):
    app = create_app(
        "production",
        {
            "JWT_SECRET_KEY": TEST_SECRET,
            "AUTH_MFA_ENCRYPTION_KEY": TEST_MFA_KEY,
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/x.db",
            "RATELIMIT_STORAGE_URI": "memory://",
            "AUTH_FRONTEND_URL": "https://app.example.com",
        },
    )

    assert app.config["JWT_SECRET_KEY"] == TEST_SECRET
    assert app.config["AUTH_COOKIE_SECURE"] is True


def test_wsgi_refuses_to_start_in_production_without_a_secret_with_one_clear_line():
    env = {k: v for k, v in os.environ.items() if k != "JWT_SECRET_KEY"}
    env["APP_ENV"] = "production"

    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "authsvc: refusing to start: JWT_SECRET_KEY is missing or weak: production needs at "
        "least 64 random bytes, e.g. python3 -c 'import secrets; print(secrets.token_hex(64))'"
    ]


def test_development_generates_a_secret_once_and_keeps_it_private(tmp_path):
    def settled() -> Flask:
        app = Flask(__name__, instance_path=str(tmp_path / "instance"))
        app.config.from_object(DevelopmentConfig)
        app.config["JWT_SECRET_KEY"] = None
        settle_config(app)
        return app

    first, second = settled(), settled()
    secret_file = tmp_path / "instance" / "jwt-secret.key"

    assert len(first.config["JWT_SECRET_KEY"]) == 128
    assert first.config["JWT_SECRET_KEY"] == second.config["JWT_SECRET_KEY"]
    assert stat.S_IMODE(secret_file.stat().st_mode) == 0o600
    assert first.config["SQLALCHEMY_DATABASE_URI"].endswith("instance/auth.db")


def test_an_unknown_app_env_is_refused():
    with pytest.raises(ConfigurationError, match="APP_ENV must be one of"):
        create_app("staging")


def test_an_unknown_dialect_is_refused(tmp_path):
    with pytest.raises(UnknownDialectError, match="unknown dialects: nope"):
        make_app(f"sqlite:///{tmp_path}/x.db", AUTH_DIALECTS=["blog", "nope"])


def test_the_refresh_cookie_is_secure_outside_development(database_url, seed_rows):
    app = create_app(
        "production",
        {
            "JWT_SECRET_KEY": TEST_SECRET,
            "AUTH_MFA_ENCRYPTION_KEY": TEST_MFA_KEY,
            "SQLALCHEMY_DATABASE_URI": database_url,
            "AUTH_PASSWORD_HASH_METHOD": "pbkdf2:sha256:1",
            "RATELIMIT_STORAGE_URI": "memory://",
            "AUTH_FRONTEND_URL": "https://app.example.com",
        },
    )

    try:
        response = app.test_client().post(
            "/api/v1/auth/register", json={"email": unique_email(), "password": "long enough"}
        )
    finally:
        with app.app_context():
            # Production writes audit rows and mail from threads: done before the next test.
            assert audit_writer(app).flush()
            mailer().stop()
            db.engine.dispose()

    assert response.status_code == 201
    assert "; Secure" in response.headers["Set-Cookie"]


@pytest.mark.parametrize(
    ("name", "value", "noun"),
    [("DATABASE_POOL_SIZE", "five", "a whole number"),
     ("AUTH_AUDIT_FLUSH_SECONDS", "soon", "a number")],
)  # fmt: skip
def test_a_malformed_number_stops_startup_with_one_line_naming_the_variable(name, value, noun):
    env = os.environ | {"APP_ENV": "production", name: value}

    result = subprocess.run(
        [sys.executable, "-c", "import wsgi"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 1
    assert result.stderr.strip() == f"authsvc: refusing to start: {name} must be {noun}"
