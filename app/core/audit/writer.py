"""Audit rows written in batches, off the request path.

A login or a refresh must not pay for an INSERT and a commit of its own audit row: each
worker process queues its rows and one background thread stores them, a batch per
statement, within ``AUTH_AUDIT_FLUSH_SECONDS`` (0.1 s). The JSON log line of every event is
still written at once, by the request itself, so a row that a crash loses in between is
still in the log.
On SQLite a batch is stored in its write turn, as a refresh's rotation is
(app/core/direct_statements.py), so neither waits in SQLite's busy handler for the other.
The queue is flushed when the process exits (gunicorn stops its workers with SIGTERM).
"""

import atexit
import time
from typing import Any

from flask import Flask
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError

from app.core.direct_statements import write_turn
from app.core.models import AuthEvent
from app.core.process_queue import BatchQueue
from app.database import db

MAX_BATCH = 500
# Beyond this many unwritten rows (the database has been down a while), rows go to the log only.
MAX_PENDING = 50_000
WRITE_ATTEMPTS = 3
_EXTENSION_KEY = "authsvc.audit_writer"


class AuditWriter:
    def __init__(self, app: Flask) -> None:
        self._app = app
        self._rows: BatchQueue[dict[str, Any]] = BatchQueue(
            "audit-writer",
            self._store,
            self._given_up,
            wait_seconds=float(app.config["AUTH_AUDIT_FLUSH_SECONDS"]),
            most=MAX_BATCH,
        )

    def submit(self, row: dict[str, Any]) -> None:
        if self._rows.pending >= MAX_PENDING:
            self._app.logger.error("Audit backlog full: an event is kept in the log only")
            return
        self._rows.put(row)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every submitted row is stored (or given up on); False on timeout."""
        return self._rows.flush(timeout)

    def _given_up(self, batch: list[dict[str, Any]], error: Exception) -> None:
        self._app.logger.error(
            "Audit rows given up on; their events are in the log",
            exc_info=error,
            extra={"fields": {"rows": len(batch)}},
        )

    def _store(self, batch: list[dict[str, Any]]) -> None:
        with self._app.app_context():
            for attempt in range(WRITE_ATTEMPTS):
                try:
                    with write_turn(db.engine):
                        db.session.execute(insert(AuthEvent), batch)
                        db.session.commit()
                    return
                except SQLAlchemyError as error:
                    db.session.rollback()
                    self._app.logger.warning(
                        "Audit rows not stored yet",
                        exc_info=error,
                        extra={"fields": {"rows": len(batch)}},
                    )
                    time.sleep(0.5 * (attempt + 1))
            self._app.logger.error(
                "Audit rows given up on; their events are in the log",
                extra={"fields": {"rows": len(batch)}},
            )


def install_audit_writer(app: Flask) -> None:
    """Batch audit rows when AUTH_AUDIT_BATCHED is on (every environment but testing)."""
    if not app.config["AUTH_AUDIT_BATCHED"]:
        return
    writer = AuditWriter(app)
    app.extensions[_EXTENSION_KEY] = writer
    atexit.register(writer.flush)


def audit_writer(app: Flask) -> AuditWriter | None:
    return app.extensions.get(_EXTENSION_KEY)
