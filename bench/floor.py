"""The service with four more routes, served only by `make bench`: each does nothing but the
input and output that a measured scenario cannot do without, so the report can show what
this machine leaves of the baseline before any of the service's own work.

- ``GET /bench/floor/read``: one `SELECT 1` round trip on a pooled connection, the way the
  caller statement runs (an authenticated GET makes exactly one such round trip).
- ``POST /bench/floor/rate-limit``: one round trip to the rate-limit storage, through the
  limiter's own client (a refresh draws from a budget shared by every worker and host).
- ``POST /bench/floor/write``: one single-row UPDATE of a random session, its own
  transaction, the way the rotation runs.
- ``POST /bench/floor/refresh-io``: the last two, one after the other: the input and
  output of a refresh, without its token check, minting, cookie or audit event.

Served with the project's gunicorn.conf.py as ``bench.floor:create_floor_app()``; the
service itself (``wsgi:app``) has none of these routes.
"""

import random
from typing import Any

from flask import Blueprint
from flask import Flask
from flask import current_app
from flask import jsonify
from flask.typing import ResponseReturnValue
from sqlalchemy import bindparam
from sqlalchemy import literal_column
from sqlalchemy import select
from sqlalchemy import update

from app import create_app
from app.core import clock
from app.core.direct_statements import DirectStatement
from app.core.direct_statements import own_transaction_engine
from app.core.models import SignInSession
from app.core.models import UTCDateTime
from app.extensions import limiter

bp = Blueprint("bench_floor", __name__, url_prefix="/bench/floor")

_SESSIONS = SignInSession.__table__
_READ = DirectStatement(select(literal_column("1")))
# Every session of the small database the floor serves (a few thousand); no LIMIT, whose
# value would be a bind parameter that the statement's callers do not pass.
_SESSION_IDS = DirectStatement(select(_SESSIONS.c.id))
_WRITE = DirectStatement(
    update(_SESSIONS)
    .where(_SESSIONS.c.id == bindparam("sid"))
    .values(last_used_at=bindparam("now", type_=UTCDateTime()))
    .returning(_SESSIONS.c.id)
)
_SESSION_IDS_KEY = "bench.floor.session_ids"


@bp.get("/read")
def read() -> ResponseReturnValue:
    """One round trip to the database."""
    return jsonify(rows=len(_READ.rows(own_transaction_engine(), {})))


@bp.post("/rate-limit")
def rate_limit() -> ResponseReturnValue:
    """One round trip to the rate-limit storage."""
    return jsonify(count=_hit_storage())


@bp.post("/write")
def write() -> ResponseReturnValue:
    """One committed single-row UPDATE."""
    return jsonify(rows=_write_session())


@bp.post("/refresh-io")
def refresh_io() -> ResponseReturnValue:
    """A refresh's two round trips: the shared budget, then the session's row."""
    count = _hit_storage()
    return jsonify(count=count, rows=_write_session())


def _hit_storage() -> int:
    return limiter.storage.incr("bench-floor", 60)


def _write_session() -> int:
    engine = own_transaction_engine()
    session_ids = current_app.extensions.get(_SESSION_IDS_KEY)
    if not session_ids:
        session_ids = [row[0] for row in _SESSION_IDS.rows(engine, {})]
        current_app.extensions[_SESSION_IDS_KEY] = session_ids
    parameters: dict[str, Any] = {"sid": random.choice(session_ids), "now": clock.utcnow()}  # noqa: S311
    return len(_WRITE.rows_committed(engine, parameters))


def install_floor(service: Flask) -> Flask:
    """Add the floor's routes to ``service`` (before it has served a request)."""
    service.register_blueprint(bp)
    return service


def create_floor_app() -> Flask:
    return install_floor(create_app())
