"""On SQLite, waiting for this process's write turn is bounded by the busy timeout for every
writer, also one that asks for its turn just as it is handed to the next writer in line."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy.exc import OperationalError

from i18n_connect.storage import database
from i18n_connect.storage.database import Database

_TIMEOUT_MS = 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_a_writer_arriving_as_the_turn_is_handed_on_still_waits_at_most_the_busy_timeout(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(database, "_SQLITE_BUSY_TIMEOUT_MS", _TIMEOUT_MS)
    holding, release, next_holding = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def next_writer() -> None:  # queued behind the first, then keeps its turn long
        async with db.transaction():
            next_holding.set()
            await asyncio.sleep(10 * _TIMEOUT_MS / 1000)

    async def first_then_again() -> float:
        async with db.transaction():
            holding.set()
            await release.wait()
        # The turn was just handed to `next_writer`, which has not run yet: the lock is free
        # to look at, but taking it means queueing behind that writer.
        started = asyncio.get_running_loop().time()
        with pytest.raises(OperationalError):
            async with db.transaction():
                pass
        return asyncio.get_running_loop().time() - started

    first = asyncio.create_task(first_then_again())
    await holding.wait()
    second = asyncio.create_task(next_writer())
    await asyncio.sleep(0.05)  # queued behind the first writer's turn
    release.set()
    waited = await asyncio.wait_for(first, 5)
    assert waited < 3 * _TIMEOUT_MS / 1000
    await second
