"""bench/in_process.py: a refresh loop that calls the app itself, without a server."""

from collections import deque

import pytest

from bench import in_process
from tests.factories import make_user


def test_a_token_is_presented_as_its_client_presents_it():
    assert in_process.presentation("cookie", "t") == {"HTTP_COOKIE": "refreshToken=t"}
    assert in_process.presentation("bearer", "t") == {"HTTP_AUTHORIZATION": "Bearer t"}


def test_the_successor_is_read_where_its_client_finds_it():
    headers = [("Content-Type", "application/json"), ("Set-Cookie", "refreshToken=b; HttpOnly")]

    assert in_process.successor("cookie", headers, b"{}") == "b"
    assert in_process.successor("bearer", [], b'{"refreshToken": "c"}') == "c"
    with pytest.raises(RuntimeError):
        in_process.successor("cookie", headers[:1], b"{}")


def test_each_call_spends_the_oldest_token_and_queues_its_successor(app, app_context, auth):
    user = make_user()
    login = auth.login(user.email)
    token = in_process.successor("cookie", login.headers.items(), login.get_data())
    queue = deque([token])
    refresh = in_process.refresher(app, "/api/v1/auth/refresh-token", "cookie", queue)

    refresh()
    refresh()

    assert len(queue) == 1
    assert queue[0] != token
    spent = deque([token])
    with pytest.raises(RuntimeError, match="401"):
        in_process.refresher(app, "/api/v1/auth/refresh-token", "cookie", spent)()
