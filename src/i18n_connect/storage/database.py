"""The database handle: one async engine, one transaction per unit of work.

SQLite runs in WAL mode with foreign keys on and a busy timeout; write
transactions start with ``BEGIN IMMEDIATE`` so that two writers queue on the lock
instead of failing when a read lock would have to be upgraded. A file database
is driven inline on the event loop (`inline_sqlite`), and this process's writers
take turns on an asyncio lock before they begin, so they never poll the file lock.
PostgreSQL runs through asyncpg under READ COMMITTED, where a conditional
``UPDATE … WHERE consumed_at IS NULL`` lets exactly one concurrent caller win.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from weakref import WeakKeyDictionary

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from i18n_connect.storage import inline_sqlite, statements
from i18n_connect.storage.parking import Parking

__all__ = ["Database", "async_url", "sqlite_file"]

_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}
_SQLITE_BUSY_TIMEOUT_MS = 10_000
_IN_MEMORY = (None, "", ":memory:")
_POOL_TIMEOUT_SECONDS = 5.0


def async_url(url: str) -> URL:
    """The SQLAlchemy URL with the async driver for its backend chosen automatically."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    backend = parsed.get_backend_name()
    if backend not in _DRIVERS:
        raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql://")
    return parsed.set(drivername=_DRIVERS[backend])


def sqlite_file(url: URL) -> str | None:
    """The database file of a SQLite URL; ``None`` for PostgreSQL and in-memory SQLite."""
    if url.get_backend_name() != "sqlite" or url.database in _IN_MEMORY:
        return None
    return url.database


class Database:
    """Owns the engine; hands out transactions. Storage never commits on its own."""

    def __init__(self, url: str, *, pool_size: int = 10) -> None:
        self.url = async_url(url)
        self.is_sqlite = self.url.get_backend_name() == "sqlite"
        options: dict[str, Any] = {"pool_pre_ping": not self.is_sqlite}
        if self.is_sqlite:
            options.update(async_creator=inline_sqlite.connect(self.url.database or ":memory:"))
        in_memory = self.url.database in _IN_MEMORY
        if not in_memory:  # a queue pool, not a static one
            options.update(
                pool_size=pool_size, max_overflow=pool_size, pool_timeout=_POOL_TIMEOUT_SECONDS
            )
        self.engine: AsyncEngine = create_async_engine(self.url, **options)
        self._write_locks: WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            WeakKeyDictionary()
        )
        self._parking: WeakKeyDictionary[asyncio.AbstractEventLoop, Parking] = WeakKeyDictionary()
        self._pool_size = pool_size
        self._pool_capacity = None if in_memory else 2 * pool_size
        self._sqlite_file = sqlite_file(self.url)  # gets a WAL checkpointer
        self._checkpointer: inline_sqlite.Checkpointer | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    @asynccontextmanager
    async def transaction(self, *, readonly: bool = False) -> AsyncIterator[AsyncConnection]:
        """One transaction: committed when the block ends, rolled back if it raises.

        Connections are kept between transactions (`Parking`): a finished one goes to
        the next transaction, and only one that failed at the database level, or was
        interrupted, goes back to the pool. When the server went away, the parked
        connections go with it: the requests in flight see a 503, later ones get
        connections vetted by the pool's pre-ping.
        """
        if self._sqlite_file is not None and self._checkpointer is None:
            self._checkpointer = inline_sqlite.Checkpointer(self._sqlite_file)
        async with self._write_turn(readonly):
            parking = self._parking_of_this_loop()
            conn = await parking.take()
            failure: BaseException | None = None
            try:
                begin = _sqlite_transaction(conn, readonly) if self.is_sqlite else conn.begin()
                async with begin:
                    yield conn
            except BaseException as exc:
                failure = exc
                raise
            finally:
                await parking.give_back(
                    conn,
                    reusable=_reusable(conn, failure),
                    server_lost=isinstance(failure, DBAPIError) and failure.connection_invalidated,
                )

    def _parking_of_this_loop(self) -> Parking:
        loop = asyncio.get_running_loop()
        parking = self._parking.get(loop)
        if parking is None:
            parking = self._parking[loop] = Parking(
                self.engine,
                keep=self._pool_size,
                capacity=self._pool_capacity,
                timeout=_POOL_TIMEOUT_SECONDS,
            )
        return parking

    @asynccontextmanager
    async def _write_turn(self, readonly: bool) -> AsyncIterator[None]:
        """On SQLite, this process's writers take turns here, in arrival order.

        SQLite admits one writer at a time; without this, concurrent writers of one
        process would poll the file lock with the busy handler's growing sleeps
        (p99 above 2 s under load). Waiting is bounded by the busy timeout.
        """
        if readonly or not self.is_sqlite:
            yield
            return
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:
            lock = self._write_locks[loop] = asyncio.Lock()
        try:
            async with asyncio.timeout(_SQLITE_BUSY_TIMEOUT_MS / 1000):
                await lock.acquire()
        except TimeoutError as exc:
            raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc  # database is busy
        try:
            yield
        finally:
            lock.release()

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        parking = self._parking.pop(asyncio.get_running_loop(), None)
        if parking is not None:
            await parking.close()
        await self.engine.dispose()
        if self._checkpointer is not None:
            await asyncio.to_thread(self._checkpointer.stop)
            self._checkpointer = None


def _reusable(conn: AsyncConnection, failure: BaseException | None) -> bool:
    """Whether a connection is fit for the next transaction after this one ended."""
    if isinstance(failure, DBAPIError | asyncio.CancelledError):
        return False
    return not conn.closed and not conn.invalidated and not conn.in_transaction()


@asynccontextmanager
async def _sqlite_transaction(conn: AsyncConnection, readonly: bool) -> AsyncIterator[None]:
    """BEGIN and COMMIT on the inline driver, skipping SQLAlchemy's async transaction (about
    100 µs a transaction). If a Core statement inside autobegins SQLAlchemy's transaction,
    the begin hook finds this one open, and SQLAlchemy's commit or rollback ends both."""
    driver = statements.sqlite_driver(conn)
    await driver.execute("BEGIN" if readonly else "BEGIN IMMEDIATE", [])
    try:
        yield
    except BaseException:
        if conn.in_transaction():
            await conn.rollback()
        elif driver.in_transaction:
            await driver.execute("ROLLBACK", [])
        raise
    if conn.in_transaction():
        await conn.commit()
    elif driver.in_transaction:  # not already ended by the block itself
        await driver.execute("COMMIT", [])


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        """Outside `Database.transaction` (pings, migrations): a write transaction."""
        driver = conn.connection.driver_connection.sqlite
        if not driver.in_transaction:  # else begun by `_sqlite_transaction`
            driver.execute("BEGIN IMMEDIATE")
