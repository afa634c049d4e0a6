"""examples/extension.py, a team's own blueprint on the service, served by gunicorn: every
face's token works there, and every way a session ends is honoured at once."""

import json

import pytest
import requests

from tests.e2e import http

pytestmark = pytest.mark.e2e

PASSWORD = "extension Passphrase 8"


@pytest.fixture
def server(start_server):
    server = start_server(TEST_GUNICORN_APP="examples.extension:app")
    server.create_user("alice", password=PASSWORD)
    server.create_user("chief", password=PASSWORD, roles=("admin",))
    server.create_user(
        "editor", password=PASSWORD, roles=("editor",), permissions_of={"editor": ("news:write",)}
    )
    return server


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _face_tokens(url: str, name: str) -> dict[str, str]:
    """An access token of every face for ``name``."""
    body = {"username": name, "password": PASSWORD}
    blog = http.post(f"{url}/api/v1/auth/login",
                     json={"email": f"{name}@example.com", "password": PASSWORD})  # fmt: skip
    pair = http.post(f"{url}/api/token/", json=body).json()
    return {
        "blog": blog.json()["accessToken"],
        "blog-cookie": blog.cookies["refreshToken"],
        "cmg": http.post(f"{url}/auth/login", json=body).json()["access_token"],
        "staff": http.post(f"{url}/api/auth/login", json=body).json()["token"],
        "token-pair-access": pair["access"],
        "token-pair-refresh": pair["refresh"],
    }


def _mine(url: str, token: str) -> requests.Response:
    return http.get(f"{url}/orders/mine", headers=_bearer(token))


def test_every_faces_token_works_and_every_ending_is_honoured_at_once(server):
    url = server.url
    tokens = _face_tokens(url, "alice")
    faces = ("blog", "cmg", "staff", "token-pair-access")

    before = {face: _mine(url, tokens[face]).status_code for face in faces}
    http.post(f"{url}/api/v1/auth/logout", headers=_bearer(tokens["blog"]),
              cookies={"refreshToken": tokens["blog-cookie"]})  # fmt: skip
    http.post(f"{url}/api/token/blacklist/", json={"refresh": tokens["token-pair-refresh"]})
    after_logout_and_blacklist = {face: _mine(url, tokens[face]).status_code for face in faces}

    assert before == dict.fromkeys(faces, 200)
    assert _mine(url, tokens["cmg"]).json()["user"] == "alice"
    assert after_logout_and_blacklist == {
        "blog": 401, "cmg": 200, "staff": 200, "token-pair-access": 401,
    }  # fmt: skip


def test_an_admin_ending_an_account_is_honoured_at_once(server):
    """One account deactivated, another deleted: every face's token of each is refused."""
    url = server.url
    admin = _bearer(_face_tokens(url, "chief")["blog"])
    for name, end in (("alice", "deactivate"), ("bob", "delete")):
        if name == "bob":
            server.create_user("bob", password=PASSWORD)
        tokens = _face_tokens(url, name)
        user_id = http.get(f"{url}/api/v1/users/current", headers=_bearer(tokens["blog"]))
        target = f"{url}/api/v1/users/{user_id.json()['_id']}"
        if end == "deactivate":
            http.patch(target, json={"isActive": False}, headers=admin)
        else:
            requests.delete(target, headers=admin, timeout=30)

        for face in ("blog", "cmg", "staff", "token-pair-access"):
            assert _mine(url, tokens[face]).status_code == 401, (name, face)


def test_roles_and_permissions_come_from_the_database_and_machines_have_their_own(server):
    url = server.url
    alice, chief, editor = (_face_tokens(url, who)["staff"] for who in ("alice", "chief", "editor"))

    assert http.get(f"{url}/orders/report", headers=_bearer(alice)).status_code == 403
    assert http.get(f"{url}/orders/report", headers=_bearer(chief)).status_code == 200
    assert http.post(f"{url}/orders/news", headers=_bearer(editor)).status_code == 201
    assert http.post(f"{url}/orders/news", headers=_bearer(alice)).status_code == 403
    _machine_tokens_have_their_own_decorator(server)
    _a_malformed_token_gets_the_neutral_401_not_a_422(server)


def _machine_tokens_have_their_own_decorator(server) -> None:
    url = server.url
    credentials = json.loads(server.flask("clients", "create", "warehouse").stdout)
    client_token = http.post(f"{url}/auth", json=credentials).json()["data"]["accessToken"]
    user_token = _face_tokens(url, "alice")["blog"]

    assert http.get(f"{url}/orders/export", headers=_bearer(client_token)).json() == {
        "client": "warehouse", "orders": [],
    }  # fmt: skip
    assert http.get(f"{url}/orders/export", headers=_bearer(user_token)).status_code == 401
    assert _mine(url, client_token).status_code == 401


def _a_malformed_token_gets_the_neutral_401_not_a_422(server) -> None:
    response = http.get(f"{server.url}/orders/mine", headers={"Authorization": "Bearer ÿ.x.y"})

    assert response.status_code == 401
    assert response.json() == {"error": "token_invalid", "message": "Invalid token."}
