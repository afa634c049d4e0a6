"""A statement compiled once per database and run straight on the driver's cursor.

SQLAlchemy builds and compiles the statement and supplies each parameter's and column's
type conversion; what is skipped is its per-execution machinery (a Connection, an execution
context, a Result), which costs more than the statement itself on the hot path
(docs/benchmarks.md). Driver errors come out as SQLAlchemy's own exceptions, and a
connection the database dropped is invalidated so the pool replaces it, as a SQLAlchemy
execution would do.
"""

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from typing import NoReturn
from weakref import WeakKeyDictionary
from weakref import WeakSet

from sqlalchemy import Engine
from sqlalchemy import Select
from sqlalchemy import UpdateBase
from sqlalchemy.engine import Dialect
from sqlalchemy.engine.interfaces import DBAPIModule
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import scoped_session
from sqlalchemy.pool import PoolProxiedConnection

from app.core.configuration import AUTOCOMMIT_BIND
from app.core.metrics import DATABASE_ERRORS
from app.database import db

Processor = Callable[[Any], Any] | None
_EVERY_STATEMENT: "WeakSet[DirectStatement]" = WeakSet()


# Called with (sql, parameters) as each direct statement is sent, and with the statement's
# class name as one is compiled: what SQLAlchemy's execution events report of the statements
# it runs itself (tests count statements and compilations with both; a tracer could too).
STATEMENT_OBSERVERS: list[Callable[[str, Any], None]] = []
COMPILATION_OBSERVERS: list[Callable[[str], None]] = []


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Parameter names in placeholder order for positional drivers (SQLite); None for named.
    positions: tuple[str, ...] | None
    bind_processors: Mapping[str, Callable[[Any], Any]]
    result_processors: tuple[Processor, ...]

    def bound(self, parameters: Mapping[str, Any]) -> Any:
        if self.bind_processors:
            converted = dict(parameters)
            for name, process in self.bind_processors.items():
                converted[name] = process(converted[name])
            parameters = converted
        if self.positions is None:
            return parameters
        return tuple(parameters[name] for name in self.positions)


class DirectStatement:
    """``statement`` with its bind parameters named: a SELECT, or a data change RETURNING
    rows, read as plain tuples of Python values."""

    def __init__(self, statement: Select[Any] | UpdateBase) -> None:
        self.statement = statement
        self._compiled: WeakKeyDictionary[Dialect, _Compiled] = WeakKeyDictionary()
        _EVERY_STATEMENT.add(self)

    def prepare(self, dialect: Dialect) -> None:
        """Compile for ``dialect`` (done at startup for each engine, never per request)."""
        if dialect in self._compiled:
            return
        compiled = self.statement.compile(dialect=dialect)
        expanding = sorted(name for name, bind in compiled.binds.items() if bind.expanding)
        if expanding:
            # An IN list's placeholders are written per execution, from the values, by
            # SQLAlchemy's execution machinery, which this skips: the driver would receive
            # "__[POSTCOMPILE_...]" and fail only when run. Refused at startup instead.
            raise ValueError(
                f"A direct statement cannot take an expanding (IN list) parameter: {expanding}"
            )
        for observe in COMPILATION_OBSERVERS:
            observe(type(self.statement).__name__)
        bind_processors = {
            name: process
            for name, bind in compiled.binds.items()
            if (process := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
        }
        columns = self.statement.exported_columns  # the selected, or the RETURNING, columns
        positions = compiled.positiontup
        self._compiled[dialect] = _Compiled(
            sql=compiled.string,
            positions=tuple(positions) if positions is not None else None,
            bind_processors=bind_processors,
            result_processors=tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in columns
            ),
        )

    def rows(self, engine: Engine, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """All rows, on a connection of ``engine``'s pool held for this statement only."""
        return self._rows_alone(engine, parameters, commit=False)

    def rows_committed(
        self, engine: Engine, parameters: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """The rows a data change RETURNING them reports, the change committed: the
        statement is its own transaction (on an autocommit engine, by itself)."""
        return self._rows_alone(engine, parameters, commit=True)

    def _rows_alone(
        self, engine: Engine, parameters: Mapping[str, Any], *, commit: bool
    ) -> list[tuple[Any, ...]]:
        dialect = engine.dialect
        try:
            connection = engine.raw_connection()
        except dialect.loaded_dbapi.Error as error:
            raise DBAPIError.instance(
                None,
                None,
                error,
                dialect.loaded_dbapi.Error,
                connection_invalidated=dialect.is_disconnect(error, None, None),
                dialect=dialect,
            ) from error
        try:
            rows = self.rows_on(connection, dialect, parameters)
            if commit:
                self._commit(connection, dialect)
            return rows
        finally:
            connection.close()

    def _commit(self, connection: PoolProxiedConnection, dialect: Dialect) -> None:
        try:
            connection.commit()
        except dialect.loaded_dbapi.Error as error:
            _raise_translated(error, connection, None, connection.invalidate, "COMMIT", (), dialect)

    def rows_in(
        self, session: OrmSession | scoped_session[Any], parameters: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """All rows, inside ``session``'s transaction (pending ORM changes are not flushed)."""
        connection = session.connection()
        fetched = self._run(
            connection.connection, connection.dialect, parameters, connection.invalidate
        )
        return self._converted(connection.dialect, fetched)

    def rows_on(
        self, connection: PoolProxiedConnection, dialect: Dialect, parameters: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """All rows, on a pooled connection already checked out."""
        fetched = self._run(connection, dialect, parameters, connection.invalidate)
        return self._converted(dialect, fetched)

    def _converted(self, dialect: Dialect, fetched: list[Any]) -> list[tuple[Any, ...]]:
        processors = self._compiled[dialect].result_processors
        return [
            tuple(value if process is None else process(value)
                  for process, value in zip(processors, row, strict=True))
            for row in fetched
        ]  # fmt: skip

    def _run(
        self,
        connection: PoolProxiedConnection,
        dialect: Dialect,
        parameters: Mapping[str, Any],
        invalidate: Callable[[BaseException], None],
    ) -> Any:
        compiled = self._compiled.get(dialect)
        if compiled is None:
            self.prepare(dialect)
            compiled = self._compiled[dialect]
        bound = compiled.bound(parameters)
        for observe in STATEMENT_OBSERVERS:
            observe(compiled.sql, bound)
        cursor = None
        try:
            cursor = connection.cursor()
            cursor.execute(compiled.sql, bound)
            outcome = cursor.fetchall()
            cursor.close()
        except dialect.loaded_dbapi.Error as error:
            _raise_translated(error, connection, cursor, invalidate, compiled.sql, bound, dialect)
        return outcome


def own_transaction_engine() -> Engine:
    """The engine for a statement that is its own transaction (``rows``, ``rows_committed``):
    the autocommit one where the database has one, so no BEGIN goes with it; SQLite's
    driver opens no transaction for a SELECT, and ``rows_committed`` commits itself."""
    engines = db.engines
    return engines.get(AUTOCOMMIT_BIND, engines[None])


def prepare_direct_statements(engines: Iterable[Engine]) -> None:
    """Compile every direct statement for each engine's database, before any request."""
    for engine in engines:
        for statement in list(_EVERY_STATEMENT):
            statement.prepare(engine.dialect)


def _raise_translated(
    error: DBAPIModule.Error,
    connection: PoolProxiedConnection,
    cursor: Any,
    invalidate: Callable[[BaseException], None],
    sql: str,
    bound: Any,
    dialect: Dialect,
) -> NoReturn:
    """Raise a driver error as SQLAlchemy's own; a dropped connection is invalidated first,
    so the pool replaces it."""
    DATABASE_ERRORS.labels(type(error).__name__).inc()
    dropped = dialect.is_disconnect(error, connection.dbapi_connection, cursor)
    if dropped:
        invalidate(error)
    raise DBAPIError.instance(
        sql,
        bound,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=dropped,
        dialect=dialect,
    ) from error
