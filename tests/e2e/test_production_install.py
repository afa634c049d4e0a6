"""The production install is ``requirements.txt`` alone: a clean virtualenv built from it, with
none of the development packages, migrates and serves under ``APP_ENV=production`` (gunicorn,
Redis for the budgets, the real password hash) and a user registers and logs in through it.
Every other test runs from the development install, which would hide a runtime dependency
that only ``requirements-dev.txt`` brings (as Authlib's need for ``requests`` once was)."""

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import http
from tests.e2e.conftest import MFA_ENCRYPTION_KEY
from tests.e2e.conftest import LiveServer
from tests.e2e.conftest import wait_until_serving
from tests.ports import free_port
from tests.processes import ROOT
from tests.signing import signing_settings

pytestmark = pytest.mark.e2e

PIP_TIMEOUT_SECONDS = 600
# Dev-only packages the service must never need at run time.
DEVELOPMENT_ONLY = ("pytest", "hypothesis", "schemathesis", "playwright", "fido2", "django")


@pytest.fixture(scope="module")
def production_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a fresh virtualenv holding requirements.txt and nothing else."""
    venv = tmp_path_factory.mktemp("production") / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    installed = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-r", str(ROOT / "requirements.txt")],
        capture_output=True, text=True, timeout=PIP_TIMEOUT_SECONDS, check=False,
    )  # fmt: skip
    assert installed.returncode == 0, installed.stderr[-3000:]
    return python


def _production_env(database_url: str, redis_url: str) -> dict[str, str]:
    """The environment an operator gives the service: nothing from the test's own virtualenv."""
    inherited = {
        name: value
        for name, value in os.environ.items()
        if name not in ("PYTHONPATH", "VIRTUAL_ENV") and not name.startswith(("TEST_", "PYTEST"))
    }
    return inherited | {
        "APP_ENV": "production",
        **signing_settings(),
        "DATABASE_URL": database_url,
        "RATELIMIT_STORAGE_URI": redis_url,
        "RATELIMIT_KEY_PREFIX": f"production-install-{uuid.uuid4().hex[:8]}",
        "AUTH_MFA_ENCRYPTION_KEY": MFA_ENCRYPTION_KEY,
        "AUTH_FRONTEND_URL": "http://localhost:5000",
        "AUTH_COOKIE_SECURE": "false",
    }


@pytest.fixture
def production_server(
    production_python: Path, database_url: str, redis_url: str, tmp_path: Path
) -> Iterator[LiveServer]:
    env = _production_env(database_url, redis_url)
    migrated = subprocess.run(
        [str(production_python), "-m", "flask", "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    port = free_port()
    server = LiveServer(url=f"http://127.0.0.1:{port}", env=env, log_dir=tmp_path)
    command = [
        str(production_python), "-m", "gunicorn", "-c", "gunicorn.conf.py",
        "--bind", f"127.0.0.1:{port}", "--workers", "2", "wsgi:app",
    ]  # fmt: skip
    with (tmp_path / "gunicorn.log").open("w") as log:
        server.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
    try:
        wait_until_serving(server.url, server.process)
        yield server
    finally:
        server.stop()


def test_the_production_install_holds_no_development_package(production_python):
    for package in DEVELOPMENT_ONLY:
        found = subprocess.run(
            [str(production_python), "-c", f"import {package}"], capture_output=True, check=False
        )
        assert found.returncode != 0, f"{package} came with requirements.txt"


def test_requirements_txt_alone_migrates_serves_and_logs_a_user_in(production_server):
    api = f"{production_server.url}/api/v1"
    credentials = {"email": "operator@example.com", "password": "a production password"}

    registered = http.post(f"{api}/auth/register", json=credentials)
    login = http.post(f"{api}/auth/login", json=credentials)
    token = login.json()["accessToken"]
    current = http.get(f"{api}/users/current", headers={"Authorization": f"Bearer {token}"})
    ready = http.get(f"{production_server.url}/readyz")

    assert registered.status_code == 201, registered.text
    assert login.status_code == 200, login.text
    assert current.json()["email"] == "operator@example.com"
    assert ready.status_code == 200, ready.text
    assert ready.json()["checks"]["redis"] == "ok"
    assert "Traceback" not in production_server.logs()
