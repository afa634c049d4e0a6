"""A SELECT compiled once per database and run straight on the driver's cursor.

SQLAlchemy builds and compiles the statement and supplies each column's result conversion;
what is skipped is its per-execution machinery (a Connection, an execution context, a
Result), which costs more than the statement itself on the hot path (docs/benchmarks.md).
Driver errors come out as SQLAlchemy's own exceptions, and a connection the database
dropped is invalidated so the pool replaces it, as a SQLAlchemy execution would do.
"""

from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import Engine
from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import PoolProxiedConnection

Processor = Callable[[Any], Any] | None


@dataclass(frozen=True)
class _Compiled:
    sql: str
    # Parameter names in placeholder order for positional drivers (SQLite); None for named.
    positions: tuple[str, ...] | None
    processors: tuple[Processor, ...]


class DirectRead:
    """``statement`` with its bind parameters named, read as plain tuples of Python values."""

    def __init__(self, statement: Select[Any]) -> None:
        self.statement = statement
        self._compiled: WeakKeyDictionary[Dialect, _Compiled] = WeakKeyDictionary()

    def prepare(self, dialect: Dialect) -> None:
        """Compile for ``dialect`` (done at startup for each engine, never per request)."""
        if dialect in self._compiled:
            return
        compiled = self.statement.compile(dialect=dialect)
        for name, bind in compiled.binds.items():
            if bind.type.dialect_impl(dialect).bind_processor(dialect) is not None:
                raise TypeError(f"{name}: parameters are passed to the driver unconverted")
        positions = compiled.positiontup
        self._compiled[dialect] = _Compiled(
            sql=compiled.string,
            positions=tuple(positions) if positions is not None else None,
            processors=tuple(
                column.type.dialect_impl(dialect).result_processor(dialect, None)
                for column in self.statement.selected_columns
            ),
        )

    def rows(self, engine: Engine, parameters: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """All rows, on a connection of ``engine``'s pool held for this statement only."""
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
            return self.rows_on(connection, dialect, parameters)
        finally:
            connection.close()

    def rows_on(
        self, connection: PoolProxiedConnection, dialect: Dialect, parameters: Mapping[str, Any]
    ) -> list[tuple[Any, ...]]:
        """All rows, on a pooled connection already checked out (e.g. a session's)."""
        compiled = self._compiled.get(dialect)
        if compiled is None:
            self.prepare(dialect)
            compiled = self._compiled[dialect]
        bound = (
            parameters
            if compiled.positions is None
            else tuple(parameters[name] for name in compiled.positions)
        )
        cursor = None
        try:
            cursor = connection.cursor()
            cursor.execute(compiled.sql, bound)
            fetched = cursor.fetchall()
            cursor.close()
        except dialect.loaded_dbapi.Error as error:
            raise _wrapped(error, compiled.sql, bound, connection, cursor, dialect) from error
        processors = compiled.processors
        return [
            tuple(value if process is None else process(value)
                  for process, value in zip(processors, row, strict=True))
            for row in fetched
        ]  # fmt: skip


def _wrapped(
    error: Exception,
    sql: str,
    bound: Any,
    connection: PoolProxiedConnection,
    cursor: Any,
    dialect: Dialect,
) -> DBAPIError:
    dropped = dialect.is_disconnect(error, connection.dbapi_connection, cursor)
    if dropped:
        connection.invalidate(error)
    return DBAPIError.instance(
        sql,
        bound,
        error,
        dialect.loaded_dbapi.Error,
        connection_invalidated=dropped,
        dialect=dialect,
    )
