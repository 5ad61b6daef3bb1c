"""`Database.transaction`'s enter and exit leave nothing behind on any path: a commit that
fails, or a writer cancelled while it waits for its turn, still gives the connection back,
ends the write turn and lets the task open its next write transaction at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.database import Database

_AT_ONCE_SECONDS = 1.0


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url, pool_size=2)
    yield database
    await database.dispose()


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
