"""One request, one id, through gunicorn: on the response, on the request's log lines and
gunicorn's access line, and in a 5xx body; and every line gunicorn and the service write is
one JSON object."""

import json

import pytest

from tests.e2e import http

pytestmark = pytest.mark.e2e

OFFERED = "edge-proxy-7f3a9c21"


def _lines(server) -> list[dict[str, object]]:
    return [json.loads(line) for line in server.logs().splitlines() if line.strip()]


def test_an_offered_id_is_answered_and_on_the_access_line(start_server):
    server = start_server()

    response = http.get(f"{server.url}/healthz", headers={"X-Request-ID": OFFERED})
    made = http.get(f"{server.url}/healthz", headers={"X-Request-ID": "bad id\u00e9"})

    assert response.headers["X-Request-ID"] == OFFERED
    assert made.headers["X-Request-ID"] != "bad id\u00e9"
    assert len(made.headers["X-Request-ID"]) == 32
    server.stop()
    # The start-up probe's /healthz lines come first; the test's two are found by their ids.
    access = {line.get("requestId"): line for line in _lines(server) if line.get("status")}
    assert {"method": "GET", "path": "/healthz", "status": 200, "requestId": OFFERED}.items() <= (
        access[OFFERED].items()
    )
    assert access[made.headers["X-Request-ID"]]["path"] == "/healthz"


def test_a_5xx_names_its_request_in_the_body_and_in_the_log_with_its_frames(start_server):
    server = start_server(TEST_GUNICORN_APP="tests.e2e.failing_app:app")

    blog = http.get(f"{server.url}/api/v1/failing", headers={"X-Request-ID": OFFERED})
    cmg = http.get(f"{server.url}/auth/failing")

    assert blog.status_code == cmg.status_code == 500
    assert blog.json()["details"] == {"requestId": OFFERED}
    assert cmg.json() == {
        "statusCode": 500,
        "message": "Internal server error.",
        "error": "Internal Server Error",
        "requestId": cmg.headers["X-Request-ID"],
    }
    server.stop()
    errors = [line for line in _lines(server) if line.get("message") == "Unhandled error"]
    assert [line["requestId"] for line in errors] == [OFFERED, cmg.headers["X-Request-ID"]]
    assert "tests.e2e.failing_app:fail:14" in errors[0]["traceback"]
    assert "SELECT" not in server.logs()


def test_every_line_gunicorn_and_the_service_write_is_one_json_object(start_server):
    server = start_server()
    http.post(f"{server.url}/api/v1/auth/login", json={"email": "x@example.com", "password": "x"})
    server.stop()

    lines = [line for line in server.logs().splitlines() if line.strip()]
    assert any("Booting worker" in line for line in lines)
    for line in lines:
        assert isinstance(json.loads(line), dict), line
