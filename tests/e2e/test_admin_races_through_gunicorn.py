"""An admin's changes that name one thing, sent 30 times at once through gunicorn (two
workers, both databases): a client's key rotated 30 times leaves exactly one key working;
one role or one whitelisted address created 30 times exists once, and the other 29 are told
it is taken (409), never a 500."""

import pytest

from tests.e2e import http

pytestmark = pytest.mark.e2e

PASSWORD = "admin Passphrase 77"
PARALLEL = 30


def _admin(server) -> dict[str, str]:
    server.create_user("raceadmin", email="race-admin@example.com", password=PASSWORD,
                       roles=("admin",))  # fmt: skip
    login = http.post(f"{server.url}/api/v1/auth/login",
                      json={"email": "race-admin@example.com", "password": PASSWORD})  # fmt: skip
    assert login.status_code == 200, login.text
    return {"Authorization": f"Bearer {login.json()['accessToken']}"}


def test_parallel_key_rotations_leave_exactly_one_key_working(start_server):
    # Thirty wrong keys in a row would spend the client's failure budgets (their job).
    server = start_server(
        AUTH_RATELIMIT_CREDENTIALS_PER_IP="1000 per minute",
        AUTH_RATELIMIT_FAILURES_PER_ACCOUNT_AND_IP="1000 per minute",
        AUTH_RATELIMIT_FAILURES_PER_ACCOUNT="1000 per minute",
    )
    admin = _admin(server)
    api = f"{server.url}/api/v1"
    created = http.post(f"{api}/clients", json={"name": "reporting"}, headers=admin)
    assert created.status_code == 201, created.text
    client_id = created.json()["clientId"]

    results = http.at_once(
        PARALLEL, lambda: http.post(f"{api}/clients/{client_id}/rotate", headers=admin)
    )

    assert [r.status_code for r in results] == [200] * PARALLEL
    keys = [r.json()["clientKey"] for r in results] + [created.json()["clientKey"]]
    assert len(set(keys)) == PARALLEL + 1
    working = [
        key
        for key in keys
        if http.post(
            f"{server.url}/auth", json={"clientId": client_id, "clientKey": key}
        ).status_code
        == 200
    ]
    assert len(working) == 1
    [listed] = [c for c in http.get(f"{api}/clients", headers=admin).json()["clients"]
                if c["clientId"] == client_id]  # fmt: skip
    assert listed["keyVersion"] == PARALLEL


@pytest.mark.parametrize(
    ("path", "body", "listing", "key"),
    [
        ("/roles", {"name": "editor", "permissions": []}, "roles", "name"),
        ("/admin-whitelist", {"email": "new-boss@example.com"}, "entries", "email"),
    ],
)
def test_one_thing_created_thirty_times_at_once_exists_once(start_server, path, body, listing, key):
    server = start_server()
    admin = _admin(server)
    api = f"{server.url}/api/v1"

    results = http.at_once(PARALLEL, lambda: http.post(f"{api}{path}", json=body, headers=admin))

    statuses = sorted(r.status_code for r in results)
    assert statuses == [201] + [409] * (PARALLEL - 1), statuses
    conflicts = {r.json()["error"] for r in results if r.status_code == 409}
    assert conflicts == {"ConflictError"}
    found = [item for item in http.get(f"{api}{path}", headers=admin).json()[listing]
             if item[key] == body[key]]  # fmt: skip
    assert len(found) == 1
