"""`Database.transaction`'s enter and exit leave nothing behind on any path: a commit that
fails, or a writer cancelled while it waits for its turn, still gives the connection back,
ends the write turn and lets the task open its next write transaction at once. On SQLite a
write begins with the busy timeout at 0 and waits for a lock held elsewhere off the event loop,
while everything else keeps the full busy timeout."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.database import Database

_AT_ONCE_SECONDS = 1.0


async def _write_at_once(db: Database) -> AsyncConnection:
    async with asyncio.timeout(_AT_ONCE_SECONDS), db.transaction() as conn:
        assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        return conn


async def test_a_commit_that_fails_raises_and_leaves_nothing_behind(db: Database) -> None:
    """A deferred foreign key is checked by COMMIT itself."""
    with pytest.raises(IntegrityError):
        async with db.transaction() as failed:
            await failed.execute(text("CREATE TEMP TABLE parent (id INTEGER PRIMARY KEY)"))
            await failed.execute(
                text(
                    "CREATE TEMP TABLE child (parent_id INTEGER REFERENCES parent (id) "
                    "DEFERRABLE INITIALLY DEFERRED)"
                )
            )
            await failed.execute(text("INSERT INTO child (parent_id) VALUES (1)"))
    assert await _write_at_once(db) is not failed  # not parked: it failed at the database
    assert len(db._writers) == 0


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_writer_cancelled_while_waiting_for_its_turn_leaves_no_trace(
    db: Database,
) -> None:
    entered, release = asyncio.Event(), asyncio.Event()

    async def hold() -> None:
        async with db.transaction():
            entered.set()
            await release.wait()

    holder = asyncio.create_task(hold())
    await entered.wait()
    waiting = asyncio.create_task(_write_at_once(db))
    await asyncio.sleep(0.05)  # queued behind the holder's turn
    assert not waiting.done()
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    release.set()
    await holder
    await _write_at_once(db)
    assert len(db._writers) == 0


async def _busy_timeout(conn: AsyncConnection) -> int:
    return int((await conn.execute(text("PRAGMA busy_timeout"))).scalar_one())


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_writes_begin_without_waiting_and_reads_wait_up_to_the_busy_timeout(
    db: Database,
) -> None:
    """A write transaction begins with the busy timeout at 0 (a held lock is waited for off
    the loop instead); everything else keeps the full timeout."""
    for _ in range(2):  # the same connection, switching between writing and reading
        async with db.transaction() as conn:
            assert await _busy_timeout(conn) == 0
        async with db.transaction(readonly=True) as same:
            assert same is conn
            assert await _busy_timeout(same) == 10_000


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_write_lock_held_elsewhere_is_waited_for_off_the_event_loop(
    db: Database, database_url: str
) -> None:
    """Another process's writer (here a plain ``sqlite3`` connection) holds the lock: the write
    transaction waits for it while the event loop goes on, then begins; the connection then
    serves reads with the full busy timeout and writes inline again."""
    first = await _write_at_once(db)
    other = sqlite3.connect(database_url.removeprefix("sqlite:///"), isolation_level=None)
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    try:
        other.execute("BEGIN IMMEDIATE")
        waiting = asyncio.create_task(_write_at_once(db))
        await asyncio.sleep(0.3)
        assert not waiting.done()
        assert ticks >= 10  # the loop was not blocked
        other.execute("COMMIT")
        assert await waiting is first
    finally:
        ticker.cancel()
        other.close()
    async with db.transaction(readonly=True) as conn:
        assert await _busy_timeout(conn) == 10_000
    async with db.transaction() as conn:
        assert await _busy_timeout(conn) == 0
