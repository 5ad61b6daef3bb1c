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
lock, ``BEGIN IMMEDIATE`` waits for it on aiosqlite's thread instead.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Awaitable, Callable
from typing import Any
from weakref import WeakKeyDictionary

import aiosqlite

__all__ = ["connector", "sqlite3_of"]

_OPENED: WeakKeyDictionary[aiosqlite.Connection, sqlite3.Connection] = WeakKeyDictionary()


def connector(database: str) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    """The ``async_creator`` of an engine on the SQLite database ``database``."""

    async def connect() -> aiosqlite.Connection:
        opened: list[sqlite3.Connection] = []

        class Recorded(sqlite3.Connection):
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


def sqlite3_of(conn: aiosqlite.Connection) -> sqlite3.Connection:
    """The ``sqlite3`` connection under an aiosqlite connection opened by `connector`."""
    return _OPENED[conn]
