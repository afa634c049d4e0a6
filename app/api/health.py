"""Health endpoints for load balancers and orchestrators: /healthz and /readyz."""

from flask import Blueprint
from flask import Response
from flask import jsonify

from app.api.openapi import Operation
from app.core import health
from app.extensions import limiter

bp = Blueprint("health", __name__)

_STATUS = {"type": "object", "properties": {"status": {"type": "string"}}}
_READINESS = {
    "type": "object",
    "properties": {
        "status": {"type": "string", "enum": ["ready", "unavailable"]},
        "checks": {"type": "object", "additionalProperties": {"type": "string"}},
    },
}
OPERATIONS = [
    Operation("GET", "/healthz", "Liveness: the process answers", "health",
              responses={200: ("Alive", _STATUS)}),
    Operation("GET", "/readyz", "Readiness: database and migrations; Redis reported", "health",
              responses={200: ("Ready", _READINESS), 503: ("Not ready", _READINESS)}),
]  # fmt: skip


@bp.get("/healthz")
@limiter.exempt
def healthz() -> Response:
    """200 while the process answers at all; touches nothing else."""
    return jsonify({"status": "ok"})


@bp.get("/readyz")
@limiter.exempt
def readyz() -> tuple[Response, int]:
    """200 when the database answers and its migrations are at head, with Redis (if used)
    "ok" or "degraded"; 503 with the failing checks otherwise."""
    checks = health.readiness()
    ready = health.is_ready(checks)
    return jsonify({"status": "ready" if ready else "unavailable", "checks": checks}), (
        200 if ready else 503
    )
