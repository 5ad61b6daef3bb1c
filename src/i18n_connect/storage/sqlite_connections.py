"""SQLite connections that SQLAlchemy drives through aiosqlite and the hot path drives inline.

aiosqlite runs every call on a thread of its own: a few thread hand-offs per
statement, about 100 µs of CPU each (``bench/``). The hot-path statements
(`statements`) therefore run on the same ``sqlite3`` connection directly, on the
event loop, between the awaits of SQLAlchemy's statements, so both share one
connection and one transaction and never run at the same time. The ``sqlite3``
connection is recorded as it is opened, through ``sqlite3.connect``'s public
``factory`` argument (which ``aiosqlite.connect`` passes on), not read out of
aiosqlite.

Nothing waits for the write lock on the loop: this process's writers take turns
before ``BEGIN IMMEDIATE`` (`Database`), and when another connection holds the
lock, ``BEGIN IMMEDIATE`` waits for it on aiosqlite's thread instead. For that, a
write transaction begins with the busy timeout at 0, everything else runs with the
full one; each connection remembers its timeout (`SQLiteConnection`), so a run of
writes, or of reads, on one connection sets it only once.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any
from weakref import WeakKeyDictionary

import aiosqlite

__all__ = ["BUSY_UNKNOWN", "SQLiteConnection", "connector", "sqlite3_of"]

BUSY_UNKNOWN = -1  # the busy timeout was set by a statement not sent through `busy_timeout`


class SQLiteConnection(sqlite3.Connection):
    """A ``sqlite3`` connection that remembers the busy timeout it was last given."""

    busy_timeout_ms: int = BUSY_UNKNOWN

    def busy_timeout(self, milliseconds: int) -> None:
        """This busy timeout from now on; no statement if the connection already has it."""
        if self.busy_timeout_ms != milliseconds:
            self.execute(f"PRAGMA busy_timeout={milliseconds}")
            self.busy_timeout_ms = milliseconds


_OPENED: WeakKeyDictionary[aiosqlite.Connection, SQLiteConnection] = WeakKeyDictionary()


def connector(database: str) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """The ``async_creator`` of an engine on the SQLite database ``database``."""

    async def connect() -> aiosqlite.Connection:
        opened: list[SQLiteConnection] = []

        class Recorded(SQLiteConnection):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, **kwargs)
                opened.append(self)

        # isolation_level=None: no implicit BEGIN; `Database` begins its transactions itself
        conn = await aiosqlite.connect(
            database, factory=Recorded, check_same_thread=False, isolation_level=None
        )
        _OPENED[conn] = opened[0]
        return conn

    return connect


def sqlite3_of(conn: aiosqlite.Connection) -> SQLiteConnection:
    """The ``sqlite3`` connection under an aiosqlite connection opened by `connector`."""
    return _OPENED[conn]
