"""Bare Flask: one JSON object, nothing else. What any Flask endpoint costs under the
service's gunicorn settings, the yardstick for the service's own /healthz."""

from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
