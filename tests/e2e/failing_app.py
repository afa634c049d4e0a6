"""The service with one route that fails unexpectedly under each of two faces, for the 5xx
tests through gunicorn (``TEST_GUNICORN_APP=tests.e2e.failing_app:app``)."""

from flask import Blueprint

from app import create_app

failing = Blueprint("failing", __name__)


@failing.get("/api/v1/failing")
@failing.get("/auth/failing")
def fail() -> None:
    raise RuntimeError("SELECT secret FROM internals")


app = create_app()
app.register_blueprint(failing)
