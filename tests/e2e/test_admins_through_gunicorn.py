"""Admin power as an attacker and two racing admins meet it through gunicorn: a stranger who
registers a whitelisted address holds no admin power until the mailbox is proved, and the
service is never left without an active admin."""

import threading
from collections.abc import Callable

import pytest
import requests

from tests.e2e import http
from tests.mailbox import token_in

pytestmark = pytest.mark.e2e

PASSWORD = "admin Passphrase 77"


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _login(url: str, email: str) -> dict[str, str]:
    answer = http.post(f"{url}/api/v1/auth/login", json={"email": email, "password": PASSWORD})
    assert answer.status_code == 200, answer.text
    return _bearer(answer.json()["accessToken"])


def test_a_stranger_registering_a_whitelisted_address_holds_no_admin_power(start_server, mailbox):
    """The default: the registration stays a plain user until the verification mail sent to
    the address is used, so the stranger cannot deactivate the real admin."""
    server = start_server(MAIL_URL=mailbox.url, ADMIN_EMAIL_WHITELIST="boss@example.com")
    server.create_user("realadmin", email="real@example.com", password=PASSWORD, roles=("admin",))
    api = f"{server.url}/api/v1"
    real_admin = _login(server.url, "real@example.com")
    real_admin_id = http.get(f"{api}/users/current", headers=real_admin).json()["_id"]

    claim = {"email": "boss@example.com", "password": PASSWORD, "role": "admin"}
    stranger = http.post(f"{api}/auth/register", json=claim)
    bearer = _bearer(stranger.json()["accessToken"])
    takeover = http.patch(f"{api}/users/{real_admin_id}", json={"isActive": False},
                          headers=bearer)  # fmt: skip
    listing = http.get(f"{api}/users", headers=bearer)

    assert stranger.status_code == 201
    assert stranger.json()["user"]["role"] == "user"
    assert takeover.status_code == 403
    assert listing.status_code == 403
    assert _login(server.url, "real@example.com")  # the real admin still logs in

    token = token_in(mailbox.wait_for("boss@example.com", "Verify your email address"))
    verified = http.post(f"{api}/auth/verify-email", json={"token": token})
    assert verified.json()["user"]["role"] == "admin"  # the mailbox's owner becomes admin


def _deactivate(url: str, bearer: dict[str, str], user_id: int) -> requests.Response:
    return http.patch(f"{url}/api/v1/users/{user_id}", json={"isActive": False}, headers=bearer)


def _demote(url: str, bearer: dict[str, str], user_id: int) -> requests.Response:
    return http.patch(f"{url}/api/v1/users/{user_id}", json={"role": "user"}, headers=bearer)


def _delete(url: str, bearer: dict[str, str], user_id: int) -> requests.Response:
    return requests.delete(f"{url}/api/v1/users/{user_id}", headers=bearer, timeout=30)


Action = Callable[[str, dict[str, str], int], requests.Response]
ROUNDS: list[tuple[Action, Action]] = [
    (_deactivate, _deactivate), (_demote, _demote), (_delete, _delete),
    (_deactivate, _demote), (_demote, _delete), (_delete, _deactivate),
]  # fmt: skip


def test_two_admins_removing_each_other_at_once_leave_one_active_admin(start_server):
    """Each round, the last admin promotes a newcomer, and the two then deactivate, demote
    or delete each other in the same instant, on two workers: exactly one admin survives."""
    server = start_server()
    server.create_user("first", email="admin0@example.com", password=PASSWORD, roles=("admin",))
    survivor = "admin0@example.com"

    for number, (first_action, second_action) in enumerate(ROUNDS, start=1):
        newcomer = f"admin{number}@example.com"
        survivor = _race(server.url, survivor, newcomer, first_action, second_action)

        admins = _active_admins(server.url, survivor)
        assert admins == [survivor], (number, admins)


def _race(url: str, old: str, new: str, old_action: Action, new_action: Action) -> str:
    """Promote ``new``, then let both act on the other at once; the one left standing."""
    http.post(f"{url}/api/v1/auth/register", json={"email": new, "password": PASSWORD})
    old_bearer = _login(url, old)
    new_id = http.get(f"{url}/api/v1/users/current", headers=_login(url, new)).json()["_id"]
    assert _promote(url, old_bearer, new_id).status_code == 200
    new_bearer = _login(url, new)
    old_id = http.get(f"{url}/api/v1/users/current", headers=old_bearer).json()["_id"]
    start = threading.Barrier(2)
    statuses: dict[str, int] = {}

    def act(name: str, action: Action, bearer: dict[str, str], target: int) -> None:
        start.wait()
        statuses[name] = action(url, bearer, target).status_code

    threads = [
        threading.Thread(target=act, args=(old, old_action, old_bearer, new_id)),
        threading.Thread(target=act, args=(new, new_action, new_bearer, old_id)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses.values()) in ([200, 401], [200, 403]), statuses
    return next(name for name, status in statuses.items() if status == 200)


def _promote(url: str, bearer: dict[str, str], user_id: int) -> requests.Response:
    return http.patch(f"{url}/api/v1/users/{user_id}", json={"role": "admin"}, headers=bearer)


def _active_admins(url: str, email: str) -> list[str]:
    page = http.get(f"{url}/api/v1/users?limit=100", headers=_login(url, email)).json()
    return [u["email"] for u in page["users"] if u["role"] == "admin" and u["isActive"]]
