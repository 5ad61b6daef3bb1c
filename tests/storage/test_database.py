"""`Database.transaction`: parked connections are reused, broken ones are not, a waiting
transaction gets the next connection to finish, and SQLite's read-only and write
transactions lock as they should."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.checkpointer import WAL_AUTOCHECKPOINT_PAGES, Checkpointer
from i18n_connect.storage.database import Database


async def _connection_of(db: Database, *, readonly: bool = False) -> AsyncConnection:
    async with db.transaction(readonly=readonly) as conn:
        return conn


async def test_a_finished_connection_serves_the_next_transaction(db: Database) -> None:
    first = await _connection_of(db)
    assert await _connection_of(db, readonly=True) is first
    assert await _connection_of(db) is first


async def test_an_ordinary_failure_rolls_back_and_keeps_the_connection(db: Database) -> None:
    first = await _connection_of(db)
    with pytest.raises(ValueError):
        async with db.transaction() as conn:
            await conn.execute(text("CREATE TABLE scratch (id INTEGER)"))
            raise ValueError
    assert await _connection_of(db) is first
    async with db.transaction(readonly=True) as conn:  # the DDL was rolled back
        with pytest.raises(OperationalError if db.is_sqlite else Exception):
            await conn.execute(text("SELECT id FROM scratch"))


async def test_a_database_failure_closes_the_connection(db: Database) -> None:
    """Closed, not parked: back to the pool on SQLite, invalidated on PostgreSQL."""
    first = await _connection_of(db)
    with pytest.raises(Exception) as raised:
        async with db.transaction() as conn:
            await conn.execute(text("SELECT * FROM no_such_table"))
    assert "no_such_table" in str(raised.value)
    assert await _connection_of(db) is not first


async def test_a_waiting_transaction_gets_the_next_connection_to_finish(db: Database) -> None:
    """pool_size=2, so at most 4 connections. With all 4 busy, a fifth transaction waits and
    is handed the first connection to finish: no fifth checkout, no wait for the pool."""
    release = [asyncio.Event() for _ in range(4)]
    entered = [asyncio.Event() for _ in range(5)]
    used: dict[int, AsyncConnection] = {}

    async def hold(index: int, done: asyncio.Event) -> None:
        async with db.transaction(readonly=True) as conn:
            await conn.execute(text("SELECT 1"))
            used[index] = conn
            entered[index].set()
            await done.wait()

    holders = [asyncio.create_task(hold(index, event)) for index, event in enumerate(release)]
    waiter = asyncio.create_task(hold(4, asyncio.Event()))
    try:
        async with asyncio.timeout(2):  # the pool's own timeout is 5 s
            for index in range(4):
                await entered[index].wait()
            release[2].set()
            await entered[4].wait()
        assert used[4] is used[2]
        assert db.engine.sync_engine.pool.checkedout() == 4  # type: ignore[attr-defined]
    finally:
        for event in release:
            event.set()
        waiter.cancel()
        await asyncio.gather(*holders, waiter, return_exceptions=True)


async def test_more_concurrent_transactions_than_pool_size_reuse_parked_connections(
    db: Database,
) -> None:
    """Three streams of transactions on pool_size=2: each stream's next transaction finds
    the connection its last one parked, so the pool (and its pre-ping) is not hit again."""
    checkouts = 0

    def count(*_: object) -> None:
        nonlocal checkouts
        checkouts += 1

    async def stream() -> None:
        for _ in range(20):
            async with db.transaction(readonly=True) as conn:
                await conn.execute(text("SELECT 1"))
                await asyncio.sleep(0.001)

    event.listen(db.engine.sync_engine.pool, "checkout", count)
    try:
        await asyncio.gather(stream(), stream(), stream())
    finally:
        event.remove(db.engine.sync_engine.pool, "checkout", count)
    assert checkouts <= 6  # busy ones counted against the limit: up to one per transaction


async def test_sqlite_readonly_and_write_transactions_lock_as_asked(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "locks.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    other = sqlite3.connect(path, timeout=0.05)
    other.isolation_level = None
    try:
        async with db.transaction(readonly=True):
            other.execute("BEGIN IMMEDIATE")  # a read-only transaction leaves the write lock free
            other.execute("ROLLBACK")
        async with db.transaction():  # the same connection, now writing: BEGIN IMMEDIATE
            with pytest.raises(sqlite3.OperationalError, match="locked"):
                other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()
        await db.dispose()


def test_the_checkpointer_copies_the_wal_off_the_request_path(tmp_path: Path) -> None:
    path = tmp_path / "wal.db"
    writer = sqlite3.connect(path, isolation_level=None)
    writer.execute("PRAGMA journal_mode=WAL")
    writer.execute("PRAGMA wal_autocheckpoint=0")  # only the checkpointer may copy pages
    writer.execute("CREATE TABLE t (v BLOB)")
    checkpointer = Checkpointer(str(path), interval=0.01)
    try:
        for _ in range(50):
            writer.execute("INSERT INTO t VALUES (randomblob(8000))")
        # the pages reach the database file only through a checkpoint
        deadline = time.monotonic() + 3
        while path.stat().st_size < 50 * 8000 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert path.stat().st_size >= 50 * 8000
    finally:
        checkpointer.stop()
        writer.close()
    assert not any(thread.name == "sqlite-checkpoint" for thread in threading.enumerate())


async def test_commits_leave_the_wal_to_the_checkpointer_up_to_the_fallback(
    sqlite_template: Path, tmp_path: Path
) -> None:
    path = tmp_path / "fallback.db"
    shutil.copy(sqlite_template, path)
    db = Database(f"sqlite:///{path}")
    try:
        for readonly in (False, True):
            async with db.transaction(readonly=readonly) as conn:
                pages = (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar_one()
                assert pages == WAL_AUTOCHECKPOINT_PAGES == 10_000
    finally:
        await db.dispose()


async def test_dispose_stops_the_checkpointer(sqlite_template: Path, tmp_path: Path) -> None:
    path = tmp_path / "dispose.db"
    shutil.copy(sqlite_template, path)
    before = sum(thread.name == "sqlite-checkpoint" for thread in threading.enumerate())
    db = Database(f"sqlite:///{path}")
    async with db.transaction() as conn:
        await conn.execute(text("SELECT 1"))
    assert sum(t.name == "sqlite-checkpoint" for t in threading.enumerate()) == before + 1
    await db.dispose()
    assert sum(t.name == "sqlite-checkpoint" for t in threading.enumerate()) == before


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_after_a_lost_server_connection_the_parked_ones_are_dropped_too(
    db: Database,
) -> None:
    """Every backend is terminated (as a PostgreSQL restart does): the first transaction to
    notice fails, and the next one gets a fresh connection, not another dead parked one."""
    release = asyncio.Event()
    entered = [asyncio.Event(), asyncio.Event()]

    async def hold(index: int) -> None:
        async with db.transaction(readonly=True) as conn:
            await conn.execute(text("SELECT 1"))
            entered[index].set()
            await release.wait()

    holders = [asyncio.create_task(hold(index)) for index in range(2)]
    for signal in entered:
        await signal.wait()
    release.set()
    await asyncio.gather(*holders)
    assert db._parking_of_this_loop().parked == 2
    admin = Database(db.url.render_as_string(hide_password=False), pool_size=1)
    try:
        async with admin.transaction() as conn:
            await conn.execute(
                text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                )
            )
    finally:
        await admin.dispose()
    with pytest.raises(DBAPIError):
        async with db.transaction(readonly=True) as conn:
            await conn.execute(text("SELECT 1"))
    assert db._parking_of_this_loop().parked == 0
    async with db.transaction(readonly=True) as conn:
        assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1


@pytest.mark.parametrize("readonly", [True, False], ids=["readonly", "write"])
async def test_a_statement_cancelled_midway_cancels_the_transaction(
    db: Database, readonly: bool
) -> None:
    """SQLAlchemy closes a connection whose statement is interrupted; the transaction still
    ends with the cancellation, not with an error about the closed connection."""
    first = await _connection_of(db, readonly=readonly)
    executing = asyncio.Event()

    async def read() -> None:
        async with db.transaction(readonly=readonly) as conn:
            executing.set()
            await conn.execute(text("SELECT 1"))

    task = asyncio.create_task(read())
    await executing.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await _connection_of(db, readonly=readonly) is not first
