"""The blog API end to end through gunicorn: the whole session, and concurrent refreshes."""

import pytest
import requests
from sqlalchemy import select

from app.core.models import AuthEvent
from tests.e2e import http
from tests.e2e.conftest import LiveServer
from tests.signing import signed_part

pytestmark = pytest.mark.e2e

THREADS = 8


def _refresh(url: str, cookie: str) -> requests.Response:
    return http.post(f"{url}/api/v1/auth/refresh-token", cookies={"refreshToken": cookie})


def test_register_login_current_refresh_logout_through_gunicorn(start_server):
    server = start_server()
    api = f"{server.url}/api/v1"

    registered = http.post(
        f"{api}/auth/register", json={"email": "e2e@example.com", "password": "e2e password"}
    )
    login = http.post(
        f"{api}/auth/login", json={"email": "e2e@example.com", "password": "e2e password"}
    )
    token, first_cookie = login.json()["accessToken"], login.cookies["refreshToken"]
    current = http.get(f"{api}/users/current", headers={"Authorization": f"Bearer {token}"})
    refreshed = _refresh(server.url, first_cookie)
    second_cookie = refreshed.cookies["refreshToken"]
    logout = http.post(
        f"{api}/auth/logout",
        headers={"Authorization": f"Bearer {token}"},
        cookies={"refreshToken": second_cookie},
    )

    assert registered.status_code == 201
    assert login.status_code == 200
    assert current.status_code == 200
    assert current.json()["email"] == "e2e@example.com"
    assert refreshed.status_code == 200
    assert second_cookie != first_cookie
    assert logout.status_code == 200
    assert logout.json() == {"message": "Logged out successfully"}
    after = http.get(f"{api}/users/current", headers={"Authorization": f"Bearer {token}"})
    assert after.status_code == 401
    assert _refresh(server.url, second_cookie).status_code == 401


def test_cli_created_admin_manages_users_through_gunicorn(start_server):
    server = start_server()
    created = server.flask(
        "users", "create", "--username", "root", "--email", "root@example.com",
        "--password", "root password", "--role", "admin",
    )  # fmt: skip
    api = f"{server.url}/api/v1"
    login = http.post(
        f"{api}/auth/login", json={"email": "root@example.com", "password": "root password"}
    )
    admin = {"Authorization": f"Bearer {login.json()['accessToken']}"}
    member = http.post(
        f"{api}/auth/register", json={"email": "member@example.com", "password": "member pw1"}
    ).json()

    listed = http.get(f"{api}/users", headers=admin)
    member_id = member["user"]["_id"]
    deactivated = http.patch(f"{api}/users/{member_id}", json={"isActive": False}, headers=admin)
    member_after = http.get(
        f"{api}/users/current", headers={"Authorization": f"Bearer {member['accessToken']}"}
    )

    assert created.returncode == 0, created.stderr
    assert listed.json()["pagination"]["total"] == 2
    assert deactivated.json()["isActive"] is False
    assert member_after.status_code == 401


def test_every_error_through_gunicorn_is_json(start_server):
    server = start_server()

    responses = [
        http.get(f"{server.url}/api/v1/nowhere"),
        http.get(f"{server.url}/api/v1/auth/login"),
        http.post(f"{server.url}/api/v1/auth/login", data="x" * 70_000,
                      headers={"Content-Type": "application/json"}),
        http.post(f"{server.url}/api/v1/auth/login", data="x"),
    ]  # fmt: skip

    assert [r.status_code for r in responses] == [404, 405, 413, 415]
    assert all(r.headers["Content-Type"] == "application/json" for r in responses)


def _refresh_concurrently(url: str, cookie: str) -> list[requests.Response]:
    return http.at_once(THREADS, lambda: _refresh(url, cookie))


def _registered_cookie(url: str) -> str:
    response = http.post(
        f"{url}/api/v1/auth/register", json={"email": "race@example.com", "password": "race pw12"}
    )
    return response.cookies["refreshToken"]


def test_concurrent_refreshes_with_zero_grace_let_exactly_one_succeed(start_server):
    server = start_server(AUTH_REFRESH_REUSE_GRACE_SECONDS="0")
    cookie = _registered_cookie(server.url)

    results = _refresh_concurrently(server.url, cookie)

    statuses = sorted(r.status_code for r in results)
    assert statuses == [200] + [401] * (THREADS - 1)


def test_concurrent_refreshes_within_grace_all_get_the_same_successor(start_server):
    server = start_server()
    cookie = _registered_cookie(server.url)

    results = _refresh_concurrently(server.url, cookie)

    assert [r.status_code for r in results] == [200] * THREADS
    successors = {signed_part(r.cookies["refreshToken"]) for r in results}
    assert len(successors) == 1
    assert successors != {signed_part(cookie)}
    assert _refresh(server.url, results[0].cookies["refreshToken"]).status_code == 200


def _stored_refreshes(server: LiveServer) -> list[tuple[str, bool]]:
    """Each stored refresh row's outcome, and whether it says why (a grace answer does)."""
    query = select(AuthEvent.outcome, AuthEvent.details).where(AuthEvent.event == "refresh")
    rows = server.read(query)
    return sorted((outcome, details is not None) for outcome, details in rows)


def test_concurrent_refreshes_store_one_rotation_row_and_a_grace_row_for_each_other(
    start_server,
):
    server = start_server()
    cookie = _registered_cookie(server.url)

    results = _refresh_concurrently(server.url, cookie)
    server.stop()  # the audit writer stores what it holds

    assert [r.status_code for r in results] == [200] * THREADS
    assert _stored_refreshes(server) == [("success", False)] + [("success", True)] * (THREADS - 1)
