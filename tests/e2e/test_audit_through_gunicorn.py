"""Audit rows through gunicorn: logged at once, stored in batches, never lost on a stop."""

import pytest
from sqlalchemy import text

from tests.e2e import http

pytestmark = pytest.mark.e2e
PASSWORD = "audit Passphrase 42"


STORED_LOGINS = text("SELECT count(*) FROM auth_events WHERE event = 'login'")


def test_audit_rows_wait_for_their_batch_and_are_stored_when_gunicorn_stops(start_server):
    server = start_server(AUTH_AUDIT_FLUSH_SECONDS="60")
    server.create_user("audited", password=PASSWORD)
    credentials = {"email": "audited@example.com", "password": PASSWORD}

    logins = [http.post(f"{server.url}/api/v1/auth/login", json=credentials) for _ in range(3)]

    assert [response.status_code for response in logins] == [200, 200, 200]
    assert server.logs().count('"event": "login", "outcome": "success"') == 3
    assert server.read_value(STORED_LOGINS) == 0
    server.stop()
    assert server.read_value(STORED_LOGINS) == 3
