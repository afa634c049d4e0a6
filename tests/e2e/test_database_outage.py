"""A database outage gives quick, clean 503s in each dialect's format, and the service
recovers by itself when the database returns."""

import time

import pytest
from sqlalchemy.engine import make_url

from tests.databases import POSTGRES_SKIP_REASON
from tests.databases import postgres_base_url
from tests.e2e import http
from tests.tcp_proxy import TcpProxy

pytestmark = pytest.mark.e2e
PASSWORD = "outage Passphrase 77"
OUTAGE_BODIES = {
    "/api/v1/users/current": {
        "error": "ServiceUnavailableError",
        "message": "The service is temporarily unavailable. Try again shortly.",
        "details": {},
    },
    "/auth/me": {
        "statusCode": 503,
        "message": "The service is temporarily unavailable. Try again shortly.",
        "error": "Service Unavailable",
    },
    "/api/users/me/": {"detail": "Service temporarily unavailable, try again later."},
}


@pytest.fixture
def proxied_server(start_server, database_kind):
    if database_kind != "postgresql":
        pytest.skip("the outage is staged on PostgreSQL's TCP connection; SQLite has none")
    if postgres_base_url() is None:
        pytest.skip(POSTGRES_SKIP_REASON)
    probe = start_server.database_url
    url = make_url(probe)
    proxy = TcpProxy((url.host or "127.0.0.1", url.port or 5432))
    proxy.start()
    server = start_server(DATABASE_URL=url.set(port=proxy.port).render_as_string(False))
    yield server, proxy
    proxy.cut()


def test_an_outage_gives_503s_and_the_service_recovers_without_a_restart(proxied_server):
    server, proxy = proxied_server
    server.create_user("steady", password=PASSWORD)
    login = {"username": "steady", "password": PASSWORD}
    token = http.post(f"{server.url}/api/token/", json=login).json()["access"]
    bearer = {"Authorization": f"Bearer {token}"}
    assert http.get(f"{server.url}/readyz").status_code == 200

    proxy.cut()
    started = time.monotonic()
    during = {path: http.get(f"{server.url}{path}", headers=bearer) for path in OUTAGE_BODIES}
    staff_login = http.post(f"{server.url}/api/auth/login", json=login)
    ready, alive = http.get(f"{server.url}/readyz"), http.get(f"{server.url}/healthz")
    elapsed = time.monotonic() - started

    for path, body in OUTAGE_BODIES.items():
        assert during[path].status_code == 503, path
        assert during[path].json() == _naming_its_request(body, during[path]), path
        assert during[path].headers["Retry-After"] == "5"
    assert staff_login.status_code == 503
    assert staff_login.json() == {
        "error": "The service is temporarily unavailable. Try again shortly.",
        "requestId": staff_login.headers["X-Request-ID"],
    }
    assert ready.status_code == 503
    assert ready.json()["checks"]["database"] == "unavailable"
    assert alive.status_code == 200
    assert elapsed < 20, f"{len(during) + 3} requests took {elapsed:.1f}s during the outage"

    proxy.start()
    assert _eventually_ok(f"{server.url}/api/v1/users/current", bearer)
    assert http.get(f"{server.url}/readyz").status_code == 200


def _naming_its_request(body: dict[str, object], response) -> dict[str, object]:
    """Every 5xx body names its request: in the blog API's details, else beside the fields."""
    request_id = response.headers["X-Request-ID"]
    if "details" in body:
        return body | {"details": {"requestId": request_id}}
    return body | {"requestId": request_id}


def _eventually_ok(url: str, headers: dict[str, str], within: float = 15) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        if http.get(url, headers=headers).status_code == 200:
            return True
        time.sleep(0.2)
    return False
