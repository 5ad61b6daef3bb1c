"""Hot-path statements: a Core statement compiled once per dialect and run on the driver.

Through SQLAlchemy's async engine a statement costs 80-400 µs of CPU to build,
look up in the compiled cache, execute through the greenlet bridge and wrap in
a result; SQLite itself answers in about 5 µs (``bench/``). The few statements
every token request and partner-API call runs are therefore declared once as
`Statement` objects: still written as SQLAlchemy Core against the same tables,
compiled once per dialect, then executed directly on the connection's driver
(``sqlite3`` or asyncpg) inside the caller's transaction. Values go through the
column types' own bind and result processors, and driver errors are raised as
SQLAlchemy's exception classes, so callers see exactly what a Core execution
would give them, with named-tuple rows.

Only public, documented interfaces are used: SQLAlchemy's
``SQLCompiler.construct_expanded_state`` gives the final SQL and the parameter
order, ``SQLCompiler.binds`` each parameter's type and so its bind processor; the
statement runs through asyncpg's ``Connection.fetch``/``execute`` (prepared and
cached by SQL text) or on the ``sqlite3`` connection under aiosqlite
(`sqlite_connections`), on the connection SQLAlchemy checked out
(``PoolProxiedConnection.driver_connection``) and inside the transaction that
`Database.transaction` began on that driver connection.

Parameters are ``bindparam`` names; every inserted column must be given
explicitly (no Python-side defaults), and expanding ``IN`` lists are not
supported: a hot-path statement has a fixed shape.
"""

from __future__ import annotations

import sqlite3
from collections import namedtuple
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aiosqlite
import asyncpg  # type: ignore[import-untyped]
from sqlalchemy import Table, bindparam, exc, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from i18n_connect.storage.sqlite_connections import sqlite3_of

__all__ = ["ASYNCPG_ERRORS", "Statement", "driver_of", "translated"]

_Processors = tuple[tuple[int, Callable[[Any], Any]], ...]  # (position, processor), if any


@dataclass(frozen=True, slots=True)
class _Compiled:
    """One statement for one dialect: its SQL, its parameters in order, its row shape."""

    sql: str
    names: tuple[str, ...]
    literals: dict[str, Any]  # values written into the statement, such as ``count=1``
    bind: _Processors
    result: _Processors
    row: Callable[..., Any] | None  # a named tuple class; None for statements without rows

    def args(self, params: dict[str, Any]) -> list[Any]:
        if self.literals:
            params = {**self.literals, **params}
        try:
            values = [params[name] for name in self.names]
        except KeyError as exc:
            raise TypeError(f"missing statement parameter {exc}") from None
        return _processed(values, self.bind)

    def make_row(self, values: Sequence[Any]) -> Any:
        assert self.row is not None
        return self.row(*_processed(list(values), self.result))


def _processed(values: list[Any], processors: _Processors) -> list[Any]:
    for position, process in processors:
        value = values[position]
        if value is not None:
            values[position] = process(value)
    return values


def _processors(candidates: Sequence[Callable[[Any], Any] | None]) -> _Processors:
    return tuple(
        (position, process) for position, process in enumerate(candidates) if process is not None
    )


class Statement:
    """A fixed Core statement run on the driver connection of an `AsyncConnection`."""

    __slots__ = ("_compiled", "_statement")

    def __init__(self, statement: ClauseElement) -> None:
        self._statement = statement
        self._compiled: dict[str, _Compiled] = {}

    @classmethod
    def insert(cls, table: Table, *, generated: tuple[str, ...] = ()) -> Statement:
        """An INSERT of one row giving every column but the database-generated ones, each as
        a parameter of the column's name."""
        values: dict[Any, Any] = {
            column: bindparam(column.key) for column in table.c if column.key not in generated
        }
        return cls(insert(table).values(values))

    def _for(self, dialect: Dialect) -> _Compiled:
        compiled = self._compiled.get(dialect.name)
        if compiled is None:
            compiled = self._compiled[dialect.name] = _compile(self._statement, dialect)
        return compiled

    async def first(self, conn: AsyncConnection, **params: Any) -> Any | None:
        """The first row, or ``None``."""
        rows = await self.all(conn, **params)
        return rows[0] if rows else None

    async def one(self, conn: AsyncConnection, **params: Any) -> Any:
        """The only row; `NoResultFound` or `MultipleResultsFound` otherwise, as in Core."""
        rows = await self.all(conn, **params)
        if not rows:
            raise NoResultFound("No row was found when one was required")
        if len(rows) > 1:
            raise MultipleResultsFound("Multiple rows were found when exactly one was required")
        return rows[0]

    async def all(self, conn: AsyncConnection, **params: Any) -> list[Any]:
        """Every row, as named tuples keyed like the statement's columns."""
        compiled = self._for(conn.dialect)
        args = compiled.args(params)
        driver = driver_of(conn)
        if isinstance(driver, aiosqlite.Connection):
            raw = _sqlite_rows(sqlite3_of(driver), compiled.sql, args)
        else:
            raw = await _asyncpg_fetch(driver, compiled.sql, args)
        return [compiled.make_row(values) for values in raw]

    async def rowcount(self, conn: AsyncConnection, **params: Any) -> int:
        """Run a statement without rows; how many rows it changed."""
        compiled = self._for(conn.dialect)
        args = compiled.args(params)
        driver = driver_of(conn)
        if isinstance(driver, aiosqlite.Connection):
            return _sqlite_rowcount(sqlite3_of(driver), compiled.sql, args)
        return await _asyncpg_execute(driver, compiled.sql, args)


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise TypeError("hot-path statements give every column explicitly (no Python defaults)")
    embedded = compiled.params  # literal values, and None for the parameters to be given
    state = compiled.construct_expanded_state(embedded)
    if state.parameter_expansion:
        raise TypeError("hot-path statements have a fixed shape (no expanding IN)")
    names = tuple(state.positiontup or ())
    literals = {name: value for name, value in embedded.items() if value is not None}
    types = [compiled.binds[name].type.dialect_impl(dialect) for name in names]
    bind = _processors([bind_type.bind_processor(dialect) for bind_type in types])
    columns = list(getattr(statement, "exported_columns", ()))
    if not columns:
        return _Compiled(state.statement, names, literals, bind, (), None)
    result = _processors(
        [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
    )
    keys = [column.key for column in columns]
    return _Compiled(state.statement, names, literals, bind, result, namedtuple("Row", keys))


ASYNCPG_ERRORS = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    asyncpg.InternalClientError,  # e.g. a connection left mid-operation by a cancelled call
    OSError,
)

# The classes SQLAlchemy's asyncpg adapter raises, by SQLSTATE class; any other server error
# is a plain `DBAPIError`, as there.
_SQLSTATE_CLASSES: dict[str, type[DBAPIError]] = {
    "23": exc.IntegrityError,
    "42": exc.ProgrammingError,
    "XX": exc.InternalError,
}


def translated(error: BaseException, sql: str, args: Sequence[Any], driver: Any) -> DBAPIError:
    """A driver error as the SQLAlchemy exception a Core execution would raise; a lost server
    connection is flagged ``connection_invalidated`` (see `Database.transaction`)."""
    if isinstance(error, sqlite3.Error):
        cls = getattr(exc, type(error).__name__, DBAPIError)
        return cls(sql, list(args), error)
    lost = isinstance(driver, asyncpg.Connection) and driver.is_closed()
    lost = lost or isinstance(error, asyncpg.PostgresConnectionError)
    state = getattr(error, "sqlstate", None) or ""
    if isinstance(error, asyncpg.PostgresError):
        cls = _SQLSTATE_CLASSES.get(state[:2], DBAPIError)
    elif isinstance(error, asyncpg.InterfaceError):
        cls = exc.InterfaceError
    elif isinstance(error, asyncpg.InternalClientError):
        cls, lost = exc.InternalError, True
    else:  # OSError, ConnectionError, TimeoutError: the connection itself failed
        cls, lost = exc.OperationalError, True
    return cls(
        sql, list(args), error, connection_invalidated=lost or state.startswith(("08", "57P"))
    )


# On the ``sqlite3`` connection under aiosqlite, inline on the event loop (`sqlite_connections`).


def _sqlite_rows(conn: sqlite3.Connection, sql: str, args: list[Any]) -> list[Any]:
    try:
        return conn.execute(sql, args).fetchall()
    except sqlite3.Error as error:
        raise translated(error, sql, args, conn) from error


def _sqlite_rowcount(conn: sqlite3.Connection, sql: str, args: list[Any]) -> int:
    try:
        return conn.execute(sql, args).rowcount
    except sqlite3.Error as error:
        raise translated(error, sql, args, conn) from error


async def _asyncpg_fetch(conn: asyncpg.Connection, sql: str, args: list[Any]) -> list[Any]:
    """The rows of the statement on the asyncpg connection: prepared and cached by asyncpg, run
    inside the transaction `Database.transaction` began with ``Connection.transaction()``."""
    try:
        return await conn.fetch(sql, *args)  # type: ignore[no-any-return]
    except ASYNCPG_ERRORS as error:
        raise translated(error, sql, args, conn) from error


async def _asyncpg_execute(conn: asyncpg.Connection, sql: str, args: list[Any]) -> int:
    """How many rows the statement changed, from asyncpg's status (``"UPDATE 3"``)."""
    try:
        status: str = await conn.execute(sql, *args)
    except ASYNCPG_ERRORS as error:
        raise translated(error, sql, args, conn) from error
    return int(status.rsplit(" ", 1)[-1])


def driver_of(conn: AsyncConnection) -> Any:
    """The driver connection under ``conn`` (an ``asyncpg.Connection`` or an
    ``aiosqlite.Connection``), through SQLAlchemy's public ``driver_connection``, without
    `AsyncConnection.get_raw_connection`'s greenlet hop: the connection is checked out."""
    if conn.sync_connection is None:
        raise RuntimeError("the connection is not open")
    return conn.sync_connection.connection.driver_connection
