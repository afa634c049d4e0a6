"""When the database fails a request: whether it is down rather than the query wrong, and
how the request's failed transaction is dropped before the error is answered."""

from contextlib import suppress

from sqlalchemy.exc import DBAPIError
from sqlalchemy.exc import InterfaceError
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.exc import TimeoutError as SQLAlchemyTimeoutError

from app.database import db


def is_database_outage(exception: BaseException) -> bool:
    """The database cannot be reached or stopped answering (not a bug in a query)."""
    if isinstance(exception, OperationalError | InterfaceError | SQLAlchemyTimeoutError):
        return True
    return isinstance(exception, DBAPIError) and exception.connection_invalidated


def discard_failed_transaction() -> None:
    """Roll the request's session back, if the database still answers."""
    with suppress(SQLAlchemyError):
        db.session.rollback()
