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

from sqlalchemy import Table, bindparam, insert
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, MultipleResultsFound, NoResultFound
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

from i18n_connect.storage.inline_sqlite import InlineConnection

__all__ = ["Statement", "sqlite_driver"]

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
        raw = await _driver(conn).fetch(compiled.sql, compiled.args(params))
        return [compiled.make_row(values) for values in raw]

    async def rowcount(self, conn: AsyncConnection, **params: Any) -> int:
        """Run a statement without rows; how many rows it changed."""
        compiled = self._for(conn.dialect)
        return await _driver(conn).execute(compiled.sql, compiled.args(params))


def _compile(statement: ClauseElement, dialect: Dialect) -> _Compiled:
    compiled = statement.compile(dialect=dialect)
    assert isinstance(compiled, SQLCompiler)
    if compiled.insert_prefetch or compiled.update_prefetch:
        raise TypeError("hot-path statements give every column explicitly (no Python defaults)")
    if any(bind.expanding for bind in compiled.binds.values()):
        raise TypeError("hot-path statements have a fixed shape (no expanding IN)")
    names = tuple(compiled.positiontup or ())
    literals = {
        name: bind.effective_value for name, bind in compiled.binds.items() if not bind.required
    }
    bind = _processors(
        [compiled.binds[name].type.dialect_impl(dialect).bind_processor(dialect) for name in names]
    )
    columns = list(getattr(statement, "exported_columns", ()))
    if not columns:
        return _Compiled(str(compiled), names, literals, bind, (), None)
    result = _processors(
        [column.type.dialect_impl(dialect).result_processor(dialect, None) for column in columns]
    )
    keys = [column.key for column in columns]
    return _Compiled(str(compiled), names, literals, bind, result, namedtuple("Row", keys))


class _SQLite:
    """Statements on the inline ``sqlite3`` connection (see `inline_sqlite`)."""

    __slots__ = ("_conn",)

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    async def fetch(self, sql: str, args: list[Any]) -> list[Any]:
        try:
            return self._conn.execute(sql, args).fetchall()
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, args, exc, sqlite3.Error) from exc

    async def execute(self, sql: str, args: list[Any]) -> int:
        try:
            return self._conn.execute(sql, args).rowcount
        except sqlite3.Error as exc:
            raise DBAPIError.instance(sql, args, exc, sqlite3.Error) from exc


class _Asyncpg:
    """Statements on the asyncpg connection under SQLAlchemy's adapter.

    The adapter begins its transaction lazily, at the first statement; this
    begins it first if needed, takes the adapter's statement mutex, and lets the
    adapter translate asyncpg's errors as it does for its own statements. These
    are the adapter's private members: ``pyproject.toml`` holds SQLAlchemy to
    2.1.x, and the statement tests run on PostgreSQL in CI.
    """

    __slots__ = ("_adapter",)

    def __init__(self, adapter: Any) -> None:
        self._adapter = adapter

    async def fetch(self, sql: str, args: list[Any]) -> list[Any]:
        return await self._run(sql, args, rows=True)  # type: ignore[no-any-return]

    async def execute(self, sql: str, args: list[Any]) -> int:
        status: str = await self._run(sql, args, rows=False)
        return int(status.rsplit(" ", 1)[-1])  # "UPDATE 3"

    async def _run(self, sql: str, args: list[Any], *, rows: bool) -> Any:
        adapter = self._adapter
        async with adapter._execute_mutex:
            try:
                if adapter._transaction is None:
                    await adapter._start_transaction()
                connection = adapter._connection
                if rows:
                    return await connection.fetch(sql, *args)
                return await connection.execute(sql, *args)
            except Exception as exc:
                try:
                    adapter._handle_exception(exc)  # raises the DBAPI-level translation
                except Exception as translated:
                    raise DBAPIError.instance(sql, args, translated, adapter.dbapi.Error) from exc


def sqlite_driver(conn: AsyncConnection) -> _SQLite:
    """The statement runner of an inline SQLite connection (for `Database`'s transactions)."""
    driver = _driver(conn)
    assert isinstance(driver, _SQLite)
    return driver


def _driver(conn: AsyncConnection) -> _SQLite | _Asyncpg:
    """The driver under ``conn`` (``AsyncConnection.get_raw_connection`` without its greenlet
    hop: the connection is checked out and inside a transaction already)."""
    if conn.sync_connection is None:
        raise RuntimeError("the connection is not open")
    fairy = conn.sync_connection.connection
    driver = fairy.driver_connection
    if isinstance(driver, InlineConnection):
        return _SQLite(driver.sqlite)
    return _Asyncpg(fairy.dbapi_connection)
