"""Every response is JSON in the dialect's format: routing errors, size limits, crashes."""

import pytest

from app.database import db
from tests.matchers import blog_error


def test_unknown_route_under_the_blog_prefix_is_a_blog_404(client):
    response = client.get("/api/v1/nothing-here")

    assert response.status_code == 404
    assert response.get_json() == blog_error(
        "NotFoundError", "The requested URL was not found on this server."
    )


def test_unknown_route_outside_every_dialect_is_a_plain_json_404(client):
    response = client.get("/no/such/path")

    assert response.status_code == 404
    assert response.get_json() == {
        "error": "route_not_found",
        "message": "The requested URL was not found on this server.",
    }


def test_wrong_method_is_a_405_with_allow_header(client):
    response = client.get("/api/v1/auth/login")

    assert response.status_code == 405
    assert response.get_json() == blog_error(
        "MethodNotAllowedError", "The method is not allowed for the requested URL."
    )
    assert "POST" in response.headers["Allow"]


def test_body_over_64_kib_is_a_413(client):
    response = client.post(
        "/api/v1/auth/login", data="x" * (64 * 1024 + 1), content_type="application/json"
    )

    assert response.status_code == 413
    assert response.get_json() == blog_error(
        "PayloadTooLargeError", "The request body is too large."
    )


def test_non_json_body_is_a_415(client):
    response = client.post("/api/v1/auth/login", data="email=a", content_type="text/plain")

    assert response.status_code == 415
    assert response.get_json() == blog_error(
        "UnsupportedMediaTypeError",
        "The request body must be JSON (Content-Type: application/json).",
    )


def test_broken_json_is_a_400(client):
    response = client.post("/api/v1/auth/login", data="{", content_type="application/json")

    assert response.status_code == 400
    assert response.get_json() == blog_error(
        "ValidationError", "The request body is not valid JSON."
    )


def test_an_unexpected_failure_is_a_json_500_without_a_traceback(app, client, monkeypatch):
    from app.core.signin import authentication

    def explode(**_kwargs: object) -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(authentication, "authenticate", explode)

    response = client.post(
        "/api/v1/auth/login", json={"email": "a@example.com", "password": "a rare passphrase 42"}
    )

    assert response.status_code == 500
    request_id = response.headers["X-Request-ID"]
    assert response.get_json() == blog_error(
        "InternalServerError", "Internal server error.", details={"requestId": request_id}
    )
    assert b"secret internals" not in response.data


@pytest.mark.parametrize("path", ["/api/v1/auth/login", "/api/v1/users/current"])
def test_responses_forbid_caching(client, path):
    response = client.get(path)

    assert response.headers["Cache-Control"] == "no-store"
    assert response.headers["Pragma"] == "no-cache"


def test_a_failed_request_leaves_the_database_session_usable(app, client, monkeypatch):
    from app.core.signin import authentication

    def fail_midway(**_kwargs: object) -> None:
        db.session.execute(db.text("SELECT 1"))
        raise RuntimeError("boom")

    monkeypatch.setattr(authentication, "authenticate", fail_midway)
    client.post(
        "/api/v1/auth/login", json={"email": "a@example.com", "password": "a rare passphrase 42"}
    )
    monkeypatch.undo()

    response = client.post(
        "/api/v1/auth/register",
        json={"email": "after@example.com", "password": "a rare passphrase 42"},
    )

    assert response.status_code == 201
