"""``keys generate`` and ``keys list`` (app/keys_cli.py), through flask and ``python -m app``."""

import json
import os
import stat
import subprocess
import sys
from typing import Any

import pytest
from click.testing import Result
from cryptography.hazmat.primitives import serialization

from app.core.tokens.keys import public_key_entry
from tests.conftest import dispose_engines
from tests.conftest import make_app
from tests.processes import ROOT
from tests.signing import TEST_SECRET


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA"])
def test_keys_generate_writes_a_private_file_only_its_owner_reads(runner, tmp_path, algorithm):
    directory = tmp_path / "keys"

    result = runner.invoke(
        args=["keys", "generate", "--algorithm", algorithm, "--directory", str(directory)]
    )

    assert result.exit_code == 0, result.output
    made = json.loads(result.output)
    private_file = directory / f"private-{made['kid']}.pem"
    public_file = directory / f"public-{made['kid']}.pem"
    assert made == {
        "kid": made["kid"],
        "algorithm": algorithm,
        "privateKeyFile": str(private_file),
        "publicKeyFile": str(public_file),
    }
    assert stat.S_IMODE(os.stat(directory).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(private_file).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(public_file).st_mode) == 0o644
    private_key = serialization.load_pem_private_key(private_file.read_bytes(), password=None)
    public_key = serialization.load_pem_public_key(public_file.read_bytes())
    assert public_key_entry(private_key.public_key()).kid == made["kid"]
    assert public_key_entry(public_key).kid == made["kid"]
    assert "PRIVATE" not in result.output


def test_keys_generate_without_an_algorithm_names_the_choices(runner, tmp_path):
    result = runner.invoke(args=["keys", "generate", "--directory", str(tmp_path)])

    assert result.exit_code == 2
    assert "Missing option '--algorithm'" in result.output
    assert "RS256,\n\tES256,\n\tEdDSA" in result.output


def test_python_m_app_keys_generate_runs_with_no_configuration_at_all(tmp_path):
    """A production service whose key is missing refuses to start, so the command that makes
    the key must not need the service to start."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JWT_", "AUTH_", "APP_"))}
    env |= {"APP_ENV": "production", "JWT_ALGORITHM": "ES256"}

    result = subprocess.run(
        [sys.executable, "-m", "app", "keys", "generate", "--algorithm", "ES256",
         "--directory", str(tmp_path)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip

    assert result.returncode == 0, result.stderr
    assert (tmp_path / f"private-{json.loads(result.stdout)['kid']}.pem").exists()


def _keys_list(database_url: str, **overrides: Any) -> Result:
    app = make_app(database_url, **overrides)
    try:
        return app.test_cli_runner().invoke(args=["keys", "list"])
    finally:
        with app.app_context():
            dispose_engines()


def test_keys_list_names_the_signing_key_and_every_verification_key(runner, database_url, tmp_path):
    generate = ["keys", "generate", "--directory", str(tmp_path), "--algorithm"]
    old = json.loads(runner.invoke(args=[*generate, "ES256"]).output)
    new = json.loads(runner.invoke(args=[*generate, "EdDSA"]).output)

    result = _keys_list(
        database_url,
        JWT_ALGORITHM="EdDSA",
        JWT_PRIVATE_KEY_FILE=new["privateKeyFile"],
        JWT_PRIVATE_KEY=None,
        JWT_VERIFY_KEYS=[str(tmp_path)],
        JWT_ISSUER="https://auth.example.com",
        JWT_AUDIENCE=["orders-api"],
    )

    assert result.exit_code == 0, result.output
    assert [json.loads(line) for line in result.output.splitlines()] == [
        {"kid": new["kid"], "algorithm": "EdDSA", "use": "signing"},
        {"kid": old["kid"], "algorithm": "ES256", "use": "verification"},
        {"issuer": "https://auth.example.com", "audience": ["orders-api"]},
    ]


def test_keys_list_under_hs256_names_the_secret_by_kid_only(database_url, seed_rows):
    result = _keys_list(
        database_url, JWT_ALGORITHM="HS256", JWT_SECRET_KEY=TEST_SECRET, JWT_PRIVATE_KEY=None,
        JWT_ISSUER=None, JWT_AUDIENCE=[],
    )  # fmt: skip

    [line] = result.output.splitlines()
    listed = json.loads(line)
    assert listed == {"kid": listed["kid"], "algorithm": "HS256", "use": "signing"}
    assert TEST_SECRET not in result.output
