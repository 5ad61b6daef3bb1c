"""The database handle: one async engine, one transaction per unit of work.

SQLite runs through aiosqlite (hot statements inline, `sqlite_connections`) in WAL mode
with foreign keys on and a busy timeout; write transactions start with ``BEGIN
IMMEDIATE`` so that two writers queue on the lock instead of failing when a read lock
would have to be upgraded, and this process's writers take turns on an asyncio lock
before they begin, so they never poll the file lock. PostgreSQL runs through asyncpg
under READ COMMITTED, where a conditional ``UPDATE … WHERE consumed_at IS NULL`` lets
exactly one concurrent caller win. The transaction belongs to the driver: SQLAlchemy's
connections run in AUTOCOMMIT, and `Database.transaction` begins and ends asyncpg's
public ``Connection.transaction()``, so Core statements and the driver-level hot-path
statements (`statements`) share it.
"""

from __future__ import annotations

import asyncio
import sqlite3
from types import TracebackType
from typing import Any
from weakref import WeakKeyDictionary, WeakSet

import aiosqlite
from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from i18n_connect.storage import statements
from i18n_connect.storage.checkpointer import WAL_AUTOCHECKPOINT_PAGES, Checkpointer
from i18n_connect.storage.parking import Parking
from i18n_connect.storage.sqlite_connections import (
    BUSY_UNKNOWN,
    SQLiteConnection,
    connector,
    sqlite3_of,
)

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
            options.update(async_creator=connector(self.url.database or ":memory:"))
        else:  # the driver's transaction is the only one (`_asyncpg_transaction`)
            options.update(isolation_level="AUTOCOMMIT")
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
        # writers queued for their turn on SQLite, by loop (woken ones until they run)
        self._queued_writers: WeakKeyDictionary[asyncio.AbstractEventLoop, int] = (
            WeakKeyDictionary()
        )
        self._writers: WeakSet[asyncio.Task[Any]] = WeakSet()  # tasks in a write transaction
        self._pool_size = pool_size
        self._pool_capacity = None if in_memory else 2 * pool_size
        self._sqlite_file = sqlite_file(self.url)  # gets a WAL checkpointer
        self._checkpointer: Checkpointer | None = None
        if self.is_sqlite:
            _configure_sqlite(self.engine)

    def transaction(self, *, readonly: bool = False) -> Transaction:
        """One transaction: committed when the ``async with`` block ends, rolled back if it
        raises (`Transaction`)."""
        return Transaction(self, readonly)

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

    async def _take_write_turn(self) -> asyncio.Lock:
        """On SQLite, this process's writers take turns here, in arrival order.

        SQLite admits one writer at a time; without this, concurrent writers of one
        process would poll the file lock with the busy handler's growing sleeps
        (p99 above 2 s under load). Waiting is bounded by the busy timeout.
        """
        loop = asyncio.get_running_loop()
        lock = self._write_locks.get(loop)
        if lock is None:
            lock = self._write_locks[loop] = asyncio.Lock()
        queued = self._queued_writers.get(loop, 0)
        if not queued and not lock.locked():  # free, nobody in line: taken without a timeout
            await lock.acquire()
            return lock
        # A free lock with writers in line (one woken, not yet run) is waited for, too.
        self._queued_writers[loop] = queued + 1
        try:
            async with asyncio.timeout(_SQLITE_BUSY_TIMEOUT_MS / 1000):
                await lock.acquire()
        except TimeoutError as exc:
            raise OperationalError("BEGIN IMMEDIATE", None, exc) from exc  # database is busy
        finally:
            self._queued_writers[loop] -= 1
        return lock

    def _start_checkpointer(self) -> None:
        """A file database's WAL checkpointer, started with the first transaction."""
        if self._sqlite_file is not None and self._checkpointer is None:
            self._checkpointer = Checkpointer(self._sqlite_file)

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
    if conn.closed or conn.invalidated or conn.in_transaction():
        return False
    driver = statements.driver_of(conn)
    if isinstance(driver, aiosqlite.Connection):
        return not sqlite3_of(driver).in_transaction
    return not driver.is_closed() and not driver.is_in_transaction()


def _left_open(conn: AsyncConnection, driver: sqlite3.Connection) -> bool:
    """Whether a SQLite connection's transaction outlived its end (see `_discard`)."""
    return not conn.closed and not conn.invalidated and driver.in_transaction


async def _discard(conn: AsyncConnection) -> None:
    """A connection that ended badly is invalidated, not pooled, where its transaction may
    still be open. On PostgreSQL an interrupted driver call may leave its transaction open or
    its protocol mid-operation, and the pool's reset sees only SQLAlchemy's side, which runs
    in AUTOCOMMIT. On SQLite a COMMIT that failed (a deferred constraint, a full disk) leaves
    the transaction, and its write lock, open, and SQLAlchemy's pool does not roll it back
    after its own failed commit."""
    if not conn.closed and not conn.invalidated:
        await conn.invalidate()


class Transaction:
    """The ``async with`` of `Database.transaction`, as one object rather than nested
    generator context managers: every request pays its enter and exit.

    Connections are kept between transactions (`Parking`): a finished one goes to the
    next transaction, and only one that failed at the database level, or was
    interrupted, goes back to the pool. When the server went away, the parked
    connections go with it: the requests in flight see a 503, later ones get
    connections vetted by the pool's pre-ping.
    """

    __slots__ = ("_asyncpg", "_conn", "_db", "_parking", "_readonly", "_sqlite", "_turn", "_writer")

    def __init__(self, db: Database, readonly: bool) -> None:
        self._db = db
        self._readonly = readonly
        self._writer: asyncio.Task[Any] | None = None
        self._turn: asyncio.Lock | None = None  # this process's write turn, on SQLite
        self._parking: Parking | None = None
        self._conn: AsyncConnection | None = None
        self._sqlite: sqlite3.Connection | None = None
        self._asyncpg: Any = None  # asyncpg's ``Transaction``

    async def __aenter__(self) -> AsyncConnection:
        db = self._db
        db._start_checkpointer()
        if not self._readonly:
            task = asyncio.current_task()
            if task in db._writers:
                # SQLite would wait out the busy timeout behind this task's own write lock,
                # and PostgreSQL would commit the inner transaction apart from the outer one.
                raise RuntimeError(
                    "a write transaction is already open in this task; pass its connection down"
                )
            if task is not None:
                db._writers.add(task)
                self._writer = task
        try:
            if db.is_sqlite and not self._readonly:
                self._turn = await db._take_write_turn()
            self._parking = parking = db._parking_of_this_loop()
            self._conn = conn = await parking.take()
            try:
                if db.is_sqlite:
                    self._sqlite = await _begin_sqlite(conn, self._readonly)
                else:
                    self._asyncpg = await _begin_asyncpg(conn, self._readonly)
            except BaseException as exc:
                await self._give_back(exc)
                raise
        except BaseException:
            self._leave()
            raise
        return conn

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        assert self._conn is not None
        failure = exc
        try:
            if self._sqlite is not None:
                await _end_sqlite(self._conn, self._sqlite, exc)
            else:
                await _end_asyncpg(self._conn, self._asyncpg, exc)
        except BaseException as error:
            failure = error
            raise
        finally:
            try:
                await self._give_back(failure)
            finally:
                self._leave()

    async def _give_back(self, failure: BaseException | None) -> None:
        assert self._conn is not None and self._parking is not None
        conn = self._conn
        reusable = _reusable(conn, failure)
        if not reusable and (
            not self._db.is_sqlite or (self._sqlite is not None and _left_open(conn, self._sqlite))
        ):
            await _discard(conn)
        await self._parking.give_back(
            conn,
            reusable=reusable,
            server_lost=isinstance(failure, DBAPIError) and failure.connection_invalidated,
        )

    def _leave(self) -> None:
        if self._turn is not None:
            self._turn.release()
        if self._writer is not None:
            self._db._writers.discard(self._writer)


async def _begin_asyncpg(conn: AsyncConnection, readonly: bool) -> Any:
    """asyncpg's ``Connection.transaction()`` around the block: one round trip to begin, one
    to end. SQLAlchemy's own transaction on this AUTOCOMMIT connection (autobegun by a Core
    statement) sends nothing; it is ended too (`_end_asyncpg`), so the connection comes back
    clean. ``begin_nested`` still emits SAVEPOINT, inside this transaction."""
    driver = statements.driver_of(conn)
    try:
        transaction = driver.transaction(isolation="read_committed", readonly=readonly)
        await transaction.start()
    except statements.ASYNCPG_ERRORS as exc:
        raise statements.translated(exc, "BEGIN", (), driver) from exc
    return transaction


async def _end_asyncpg(conn: AsyncConnection, transaction: Any, exc: BaseException | None) -> None:
    """Commit, or roll back after the block raised ``exc``."""
    if exc is not None:
        if conn.in_transaction():
            await conn.rollback()
        try:
            await transaction.rollback()
        except statements.ASYNCPG_ERRORS:  # the block's own error is the one to report
            await _discard(conn)
        return
    if conn.in_transaction():
        await conn.commit()
    try:
        await transaction.commit()
    except statements.ASYNCPG_ERRORS as error:
        raise statements.translated(error, "COMMIT", (), statements.driver_of(conn)) from error


async def _begin_sqlite(conn: AsyncConnection, readonly: bool) -> sqlite3.Connection:
    """BEGIN inline on the ``sqlite3`` connection (`sqlite_connections`), skipping SQLAlchemy's
    async transaction. If a Core statement inside autobegins SQLAlchemy's transaction, the
    begin hook finds this one open, and SQLAlchemy's commit or rollback ends both."""
    aio = statements.driver_of(conn)
    driver = sqlite3_of(aio)
    if readonly:  # a reader may wait out another process's WAL recovery
        driver.busy_timeout(_SQLITE_BUSY_TIMEOUT_MS)
        _sqlite_statement(driver, "BEGIN")
    else:
        await _begin_immediate(aio, driver)
    return driver


async def _end_sqlite(
    conn: AsyncConnection, driver: sqlite3.Connection, exc: BaseException | None
) -> None:
    """COMMIT inline, or ROLLBACK after the block raised ``exc``; through SQLAlchemy if a
    Core statement began its transaction too, and not at all if the block ended it itself."""
    if exc is not None:
        if conn.in_transaction():
            await conn.rollback()
        elif not conn.invalidated and driver.in_transaction:
            _sqlite_statement(driver, "ROLLBACK")
        return
    if conn.in_transaction():
        await conn.commit()
    elif driver.in_transaction:
        _sqlite_statement(driver, "COMMIT")


async def _begin_immediate(aio: aiosqlite.Connection, driver: SQLiteConnection) -> None:
    """Take the write lock inline if it is free; if another connection holds it (another
    process, or another engine of this one), wait for it on aiosqlite's thread, up to the
    busy timeout, so that the event loop goes on serving meanwhile."""
    driver.busy_timeout(0)
    try:
        driver.execute("BEGIN IMMEDIATE")
        return
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode != sqlite3.SQLITE_BUSY:
            raise statements.translated(exc, "BEGIN IMMEDIATE", (), driver) from exc
    driver.busy_timeout_ms = BUSY_UNKNOWN  # set off the loop
    try:
        await aio.execute(f"PRAGMA busy_timeout={_SQLITE_BUSY_TIMEOUT_MS}")
        await aio.execute("BEGIN IMMEDIATE")
    except sqlite3.Error as exc:
        raise statements.translated(exc, "BEGIN IMMEDIATE", (), driver) from exc


def _sqlite_statement(driver: sqlite3.Connection, sql: str) -> None:
    try:
        driver.execute(sql)
    except sqlite3.Error as exc:
        raise statements.translated(exc, sql, (), driver) from exc


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA wal_autocheckpoint={WAL_AUTOCHECKPOINT_PAGES}")
        cursor.close()
        sqlite3_of(dbapi_connection.driver_connection).busy_timeout(_SQLITE_BUSY_TIMEOUT_MS)

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        """Outside `Database.transaction` (pings, migrations): a write transaction, which
        waits for the lock up to the busy timeout."""
        driver = sqlite3_of(conn.connection.driver_connection)
        if not driver.in_transaction:  # else begun by `Transaction`
            driver.busy_timeout(_SQLITE_BUSY_TIMEOUT_MS)
            driver.execute("BEGIN IMMEDIATE")
