"""A statement compiled once per database and run straight on the driver's cursor.

SQLAlchemy builds and compiles the statement and supplies each parameter's and column's
type conversion; what is skipped is its per-execution machinery (a Connection, an execution
context, a Result), which costs more than the statement itself on the hot path
(docs/benchmarks.md). Driver errors come out as SQLAlchemy's own exceptions, and a
connection the database dropped is invalidated so the pool replaces it, as a SQLAlchemy
execution would do.
"""

import atexit
import fcntl
import os
import threading
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import AbstractContextManager
from contextlib import contextmanager
from contextlib import nullcontext
from contextlib import suppress
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
from sqlalchemy.pool import Pool
from sqlalchemy.pool import PoolProxiedConnection
from sqlalchemy.pool import QueuePool

from app.core.configuration import AUTOCOMMIT_BIND
from app.core.metrics import DATABASE_ERRORS
from app.database import LAST_USED
from app.database import db
from app.database import idle_ping_seconds

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
        statement is its own transaction (on an autocommit engine, by itself). On SQLite,
        which lets one connection write at a time, these statements take turns
        (``sqlite_write_turn``)."""
        with write_turn(engine):
            return self._rows_alone(engine, parameters, commit=True)

    def _rows_alone(
        self, engine: Engine, parameters: Mapping[str, Any], *, commit: bool
    ) -> list[tuple[Any, ...]]:
        held = _held_connection(engine)
        try:
            rows = self.rows_on(held.connection, engine.dialect, parameters)
            if commit:
                self._commit(held.connection, engine.dialect)
        except BaseException:
            _let_go(held)
            raise
        if not held.kept:
            _let_go(held)
        return rows

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


def write_turn(engine: Engine) -> AbstractContextManager[None]:
    """The turn a writer to ``engine``'s database waits for: on SQLite, ``sqlite_write_turn``;
    none elsewhere, where a writer waits only for the rows it changes."""
    if engine.dialect.name != "sqlite":
        return nullcontext()
    return sqlite_write_turn(engine.url.database)


_TURNS_IN_PROCESS = threading.Lock()
_TURN_FILES: dict[str, int] = {}  # the lock file of each database, opened in this process


@contextmanager
def sqlite_write_turn(database: str | None) -> Iterator[None]:
    """Hold this turn to write to the SQLite file ``database``: one thread of the process at
    a time, then one process at a time, by an exclusive ``flock`` on ``<database>-turns``
    beside it. A writer that finds SQLite's lock taken waits in SQLite's busy handler, which
    sleeps 1, 2, 5 ms and more between tries whether or not the lock was let go meanwhile;
    a thread or process waiting for its turn is woken the moment the turn is let go
    (docs/decisions/0018-refresh-off-the-critical-path.md). The rotations and the audit
    writer's batches take turns; the rest of the service's writers, which are rare on the
    hot path, still meet SQLite's own lock."""
    with _TURNS_IN_PROCESS:
        if not database or database == ":memory:" or database.startswith("file:"):
            yield  # a database in memory is this process's alone
            return
        descriptor = _TURN_FILES.get(database)
        if descriptor is None:
            descriptor = os.open(f"{database}-turns", os.O_RDWR | os.O_CREAT, 0o600)
            _TURN_FILES[database] = descriptor
        fcntl.flock(descriptor, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(descriptor, fcntl.LOCK_UN)


def _open_own_turn_files() -> None:
    """A forked child shares its parent's open lock files, and a ``flock`` with them: it
    opens its own, so that parent and child take turns. Its lock is new too, in case the
    fork came while another thread of the parent held it."""
    global _TURNS_IN_PROCESS
    _TURNS_IN_PROCESS = threading.Lock()
    for descriptor in _TURN_FILES.values():
        with suppress(OSError):
            os.close(descriptor)
    _TURN_FILES.clear()


os.register_at_fork(after_in_child=_open_own_turn_files)


class _Held:
    """A pooled connection checked out for this thread's direct statements. A thread keeps
    it for its next statement (checking a connection out and back in costs about a tenth of
    an authenticated GET: docs/decisions/0013-held-connections.md) while it is used at
    least every ``idle_limit`` seconds, so the pool's ping of an idle connection still
    happens on the next checkout, and for KEEP_AT_MOST_SECONDS at most, so the pool's
    recycling still applies. A pool lends at most its size less one to holders, so a
    thread that holds none always finds a connection, as before."""

    def __init__(self, engine: Engine, connection: PoolProxiedConnection, *, kept: bool) -> None:
        self.engine = engine
        self.pool = engine.pool
        self.connection = connection
        self.kept = kept
        self.released = False
        self.idle_limit = idle_ping_seconds(engine) or 0
        self.checked_out_at = self.last_used = time.monotonic()

    def serves(self, engine: Engine, now: float) -> bool:
        return (
            self.engine is engine
            and not self.released
            and self.connection.is_valid
            and now - self.last_used < self.idle_limit
            and now - self.checked_out_at < KEEP_AT_MOST_SECONDS
        )

    def release(self) -> None:
        if self.released:
            return
        self.released = True
        if self.kept:
            _stop_counting(self.pool)
        if self.engine.pool is not self.pool:
            self.connection.invalidate()  # the engine was disposed: nothing will reuse it
        info = self.connection.record_info
        if info is not None:
            info[LAST_USED] = self.last_used
        self.connection.close()

    def __del__(self) -> None:
        # The thread that held it ended: its thread-local value is dropped with it.
        with suppress(Exception):
            self.release()


KEEP_AT_MOST_SECONDS = 60.0
_THREAD = threading.local()
_KEPT_PER_POOL: "WeakKeyDictionary[Pool, int]" = WeakKeyDictionary()
_KEPT_LOCK = threading.Lock()
# A held connection inherited by a forked child is its parent's: never used, never closed.
_INHERITED: list[_Held] = []


def _held_connection(engine: Engine) -> _Held:
    now = time.monotonic()
    held: _Held | None = getattr(_THREAD, "held", None)
    if held is not None and held.serves(engine, now):
        held.last_used = now
        return held
    if held is not None:
        _let_go(held)
    connection = _checked_out(engine)
    held = _Held(engine, connection, kept=_may_keep(engine))
    if held.kept:
        _THREAD.held = held
    return held


def release_held_connection() -> None:
    """Return this thread's held connection, if any, to its pool (before the engine is
    disposed, or as the process ends)."""
    held = getattr(_THREAD, "held", None)
    if held is not None:
        _let_go(held)


atexit.register(release_held_connection)


def _let_go(held: _Held) -> None:
    if getattr(_THREAD, "held", None) is held:
        _THREAD.held = None
    held.release()


def _may_keep(engine: Engine) -> bool:
    pool = engine.pool
    if not isinstance(pool, QueuePool) or not idle_ping_seconds(engine):
        return False
    with _KEPT_LOCK:
        kept = _KEPT_PER_POOL.get(pool, 0)
        if kept >= pool.size() - 1:
            return False
        _KEPT_PER_POOL[pool] = kept + 1
        return True


def _stop_counting(pool: Pool) -> None:
    with _KEPT_LOCK:
        _KEPT_PER_POOL[pool] = max(0, _KEPT_PER_POOL.get(pool, 0) - 1)


def _forget_inherited() -> None:
    held = getattr(_THREAD, "held", None)
    if held is not None:
        _INHERITED.append(held)
        _THREAD.held = None
        if held.kept:
            _stop_counting(held.pool)  # the child's own threads may hold as many as before


os.register_at_fork(after_in_child=_forget_inherited)


def _checked_out(engine: Engine) -> PoolProxiedConnection:
    dialect = engine.dialect
    try:
        return engine.raw_connection()
    except dialect.loaded_dbapi.Error as error:
        raise DBAPIError.instance(
            None,
            None,
            error,
            dialect.loaded_dbapi.Error,
            connection_invalidated=dialect.is_disconnect(error, None, None),
            dialect=dialect,
        ) from error


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
