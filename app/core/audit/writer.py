"""Audit rows written in batches, off the request path.

A login or a refresh must not pay for an INSERT and a commit of its own audit row: each
worker process queues its rows and one background thread stores them, a batch per
statement, within ``AUTH_AUDIT_FLUSH_SECONDS`` (0.1 s). The JSON log line of every event is
still written at once, by the request itself, so a row that a crash loses in between is
still in the log.
The queue is flushed when the process exits (gunicorn stops its workers with SIGTERM).
"""

import atexit
import queue
import threading
import time
from typing import Any

from flask import Flask
from sqlalchemy import insert
from sqlalchemy.exc import SQLAlchemyError

from app.core.models import AuthEvent
from app.core.process_queue import ProcessQueue
from app.database import db

MAX_BATCH = 500
# Beyond this many unwritten rows (the database has been down a while), rows go to the log only.
MAX_PENDING = 50_000
WRITE_ATTEMPTS = 3
_EXTENSION_KEY = "authsvc.audit_writer"


class AuditWriter:
    def __init__(self, app: Flask) -> None:
        self._app = app
        self._rows: ProcessQueue[dict[str, Any]] = ProcessQueue("audit-writer", self._run)
        self._flush_seconds = float(app.config["AUTH_AUDIT_FLUSH_SECONDS"])
        self._hurry = threading.Event()

    def submit(self, row: dict[str, Any]) -> None:
        if self._rows.pending >= MAX_PENDING:
            self._app.logger.error("Audit backlog full: an event is kept in the log only")
            return
        self._rows.put(row)

    def flush(self, timeout: float = 5.0) -> bool:
        """Wait until every submitted row is stored (or given up on); False on timeout."""
        self._hurry.set()
        try:
            return self._rows.wait_until_done(timeout)
        finally:
            self._hurry.clear()

    def _run(self, rows: "queue.Queue[dict[str, Any]]") -> None:
        while True:
            batch = self._next_batch(rows)
            try:
                self._store(batch)
            except Exception as error:
                # The thread must outlive any one batch, or every later row would pile up.
                self._app.logger.error(
                    "Audit rows given up on; their events are in the log",
                    exc_info=error,
                    extra={"fields": {"rows": len(batch)}},
                )
            finally:
                for _ in batch:
                    rows.task_done()

    def _next_batch(self, rows: "queue.Queue[dict[str, Any]]") -> list[dict[str, Any]]:
        """The first row, and what else arrives within the flush interval. The interval is
        slept out rather than waited for row by row: a row queued meanwhile wakes no thread,
        where a waiting get() would hand the GIL to this thread for every row
        (docs/benchmarks.md)."""
        batch = [rows.get()]
        if rows.qsize() < MAX_BATCH:
            self._hurry.wait(self._flush_seconds)
        while len(batch) < MAX_BATCH:
            try:
                batch.append(rows.get_nowait())
            except queue.Empty:
                break
        return batch

    def _store(self, batch: list[dict[str, Any]]) -> None:
        with self._app.app_context():
            for attempt in range(WRITE_ATTEMPTS):
                try:
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
