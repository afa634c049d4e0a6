"""The cost of one password check is bounded, through gunicorn: a hash imported before the
ceilings came down (argon2 at 1 GiB, 20 passes: 52 s and 1.1 GiB a login, past the worker's
timeout) is never computed, the real CLI refuses one, and imported hashes at the ceiling are
checked a few at a time per worker while the rest of the service answers."""

import json
from concurrent.futures import ThreadPoolExecutor

import bcrypt
import pytest
from argon2 import PasswordHasher

from tests.e2e import http

pytestmark = pytest.mark.e2e

PASSWORD = "imported Passphrase 5"
# A real argon2id hash whose parameters say 1 GiB, 20 passes, 16 lanes: what the old ceiling
# let an import store.
COSTLY = (
    PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
    .hash(PASSWORD)
    .replace("m=8,t=1,p=1", "m=1048576,t=20,p=16")
)


def _login(server, name: str):
    return http.post(
        f"{server.url}/api/v1/auth/login",
        json={"email": f"{name}@example.com", "password": PASSWORD},
    )


def test_a_hash_above_the_ceilings_is_never_computed(start_server):
    server = start_server()
    server.create_user("legacy", password="a placeholder passphrase")
    server.set_user("legacy", password_hash=COSTLY)

    refused = _login(server, "legacy")
    alive = http.get(f"{server.url}/healthz")

    assert refused.status_code == 400
    assert refused.json()["message"] == "Invalid email or password"
    assert alive.status_code == 200


def test_the_cli_refuses_a_line_above_the_ceilings_naming_them(start_server, tmp_path):
    server = start_server()
    path = tmp_path / "costly.jsonl"
    path.write_text(json.dumps({"email": "costly@example.com", "passwordHash": COSTLY}) + "\n")

    result = server.flask("users", "import", str(path))

    assert result.returncode != 0
    assert (
        "line 1: passwordHash: argon2 cost must be at most m=65536 (KiB), m·t=1048576 and p=8."
        in result.stdout + result.stderr
    )
    assert COSTLY not in result.stdout + result.stderr


def test_costly_imported_hashes_all_sign_in_a_few_at_a_time(start_server):
    """Eight first logins at once, each checking a bcrypt hash of cost 13 (half a second of
    a core): every one signs in, and /healthz answers meanwhile."""
    server = start_server()
    names = [f"imported{n}" for n in range(8)]
    for name in names:
        server.create_user(name, password="a placeholder passphrase")
        costly = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(13)).decode()
        server.set_user(name, password_hash=costly)

    with ThreadPoolExecutor(max_workers=9) as pool:
        logins = [pool.submit(_login, server, name) for name in names]
        health = pool.submit(http.get, f"{server.url}/healthz")
        statuses = [login.result().status_code for login in logins]

    assert statuses == [200] * 8
    assert health.result().status_code == 200
