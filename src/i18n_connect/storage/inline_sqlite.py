"""SQLite for the async engine without a thread per connection.

SQLAlchemy's ``sqlite+aiosqlite`` dialect drives each connection through
aiosqlite, which runs every cursor call on a worker thread: four thread hand-offs
per statement (open cursor, execute, fetch, close). Under load those hand-offs,
not SQLite, dominated a request's CPU time (``bench/``: 3-5 ms for a
three-statement read). SQLite on a local file answers in microseconds, so this
module runs the calls inline on the event loop instead, behind the same
aiosqlite-shaped interface that the dialect expects.

What may block the loop is bounded: this process's writers take turns before
``BEGIN IMMEDIATE`` (`Database`), so only another process holding the write
lock can make a statement wait, for at most the busy timeout.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Callable, Iterable, Sequence
from types import TracebackType
from typing import Any

__all__ = ["Checkpointer", "InlineConnection", "connect"]


class _Cursor:
    """An aiosqlite-shaped cursor whose coroutines complete without awaiting anything."""

    def __init__(self, cursor: sqlite3.Cursor) -> None:
        self._cursor = cursor

    async def __aenter__(self) -> _Cursor:
        return self

    async def __aexit__(
        self,
        _type: type[BaseException] | None,
        _exc: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = None) -> _Cursor:
        if parameters is None:
            self._cursor.execute(sql)
        else:
            self._cursor.execute(sql, parameters)
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> _Cursor:
        self._cursor.executemany(sql, parameters)
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> list[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> list[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _RunNow:
    """Stands in for aiosqlite's request queue: runs each queued call immediately."""

    def put_nowait(self, item: tuple[asyncio.Future[Any] | None, Callable[[], Any]]) -> None:
        future, function = item
        try:
            result = function()
        except BaseException as exc:  # handed to the awaiting caller, as aiosqlite does
            if future is not None:
                future.set_exception(exc)
            return
        if future is not None:
            future.set_result(result)


class InlineConnection:
    """An aiosqlite-shaped connection over a `sqlite3.Connection`, used on the loop's thread."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection
        self._tx = _RunNow()

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The ``sqlite3`` connection itself, for statements run without SQLAlchemy."""
        return self._conn

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    @isolation_level.setter
    def isolation_level(self, value: Any) -> None:
        self._conn.isolation_level = value

    def cursor(self) -> _Cursor:
        return _Cursor(self._conn.cursor())

    async def execute(self, sql: str, parameters: Sequence[Any] = ()) -> _Cursor:
        return await self.cursor().execute(sql, parameters)

    async def commit(self) -> None:
        self._conn.commit()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        self.stop()

    def stop(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()


class Checkpointer:
    """Runs SQLite's WAL checkpoints on a thread of its own, off the request path.

    By default the commit that grows the WAL past 1,000 pages copies them into the
    database file itself: about one write request in a hundred took several
    milliseconds longer (``bench/``: mint p99 at half load 9 ms, 2 ms without).
    This thread runs a PASSIVE checkpoint every ``interval`` seconds instead, which
    never blocks readers or writers, so the commits find little or nothing left to
    copy; SQLite's own automatic checkpoint stays on as the fallback.
    """

    def __init__(self, database: str, *, interval: float = 0.05) -> None:
        self._database = database
        self._interval = interval
        self._stopped = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        conn = sqlite3.connect(self._database, check_same_thread=True)
        try:
            while not self._stopped.wait(self._interval):
                try:
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error:  # e.g. busy with another checkpoint: try again later
                    continue
        finally:
            conn.close()

    def stop(self) -> None:
        self._stopped.set()
        self._thread.join()


def connect(database: str) -> Callable[[], Any]:
    """The ``async_creator`` of an engine on the SQLite file ``database``."""

    async def creator() -> InlineConnection:
        return InlineConnection(sqlite3.connect(database, check_same_thread=False))

    return creator
