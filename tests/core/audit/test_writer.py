"""The audit writer: rows of many events in one statement, off the request's thread."""

import pytest
from sqlalchemy import event
from sqlalchemy import func
from sqlalchemy import select

from app.core.audit import audit
from app.core.audit.writer import audit_writer
from app.core.models import AuthEvent
from app.database import db


@pytest.fixture
def app_overrides():
    return {"AUTH_AUDIT_BATCHED": True, "AUTH_AUDIT_FLUSH_SECONDS": 0.5}


def test_events_recorded_together_are_stored_in_one_statement(app, app_context):
    inserts: list[str] = []

    def count_inserts(_conn, _cursor, statement, *_args):
        if statement.startswith("INSERT INTO auth_events"):
            inserts.append(statement)

    event.listen(db.engine, "before_cursor_execute", count_inserts)
    try:
        for outcome in ("failure", "failure", "success"):
            audit.record(event="login", outcome=outcome, user_id=7)
        stored_before_flush = db.session.scalar(select(func.count(AuthEvent.id)))
        assert audit_writer(app).flush()
    finally:
        event.remove(db.engine, "before_cursor_execute", count_inserts)

    assert stored_before_flush == 0
    outcomes = db.session.scalars(select(AuthEvent.outcome).order_by(AuthEvent.id)).all()
    assert outcomes == ["failure", "failure", "success"]
    assert len(inserts) == 1


@pytest.mark.parametrize("app_overrides", [{"AUTH_AUDIT_BATCHED": False}])
def test_without_batching_the_row_is_stored_before_record_returns(app_context, app_overrides):
    audit.record(event="logout", outcome="success", user_id=7)

    assert db.session.scalar(select(func.count(AuthEvent.id))) == 1
