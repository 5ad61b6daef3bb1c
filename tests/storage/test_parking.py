"""`Parking`: hand-over to waiters in arrival order, a free slot after a broken connection,
the pool's timeout, and no connection lost when a waiter gives up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine

from i18n_connect.storage.database import Database
from i18n_connect.storage.parking import Parking


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    database = Database(database_url, pool_size=2)
    yield database.engine
    await database.dispose()


def _parking(engine: AsyncEngine, *, timeout: float = 2.0) -> Parking:
    return Parking(engine, keep=1, capacity=2, timeout=timeout)


def _checked_out(engine: AsyncEngine) -> int:
    return engine.sync_engine.pool.checkedout()  # type: ignore[attr-defined, no-any-return]


async def test_waiters_are_served_in_arrival_order(engine: AsyncEngine) -> None:
    parking = _parking(engine)
    first, second = await parking.take(), await parking.take()
    waiters = [asyncio.create_task(parking.take()) for _ in range(2)]
    await asyncio.sleep(0.05)
    await parking.give_back(second, reusable=True)
    await parking.give_back(first, reusable=True)
    assert await waiters[0] is second
    assert await waiters[1] is first
    assert _checked_out(engine) == 2
    for conn in (first, second):
        await parking.give_back(conn, reusable=True)
    assert parking.parked == 1  # keep=1: the other went back to the pool
    assert _checked_out(engine) == 1
    await parking.close()
    assert _checked_out(engine) == 0


async def test_a_broken_connection_frees_a_slot_for_a_waiter(engine: AsyncEngine) -> None:
    parking = _parking(engine)
    first, second = await parking.take(), await parking.take()
    waiter = asyncio.create_task(parking.take())
    await asyncio.sleep(0.05)
    await parking.give_back(first, reusable=False)  # to the pool, not to the waiter
    fresh = await asyncio.wait_for(waiter, 2)
    assert fresh is not first and fresh is not second
    assert _checked_out(engine) == 2
    await parking.give_back(fresh, reusable=True)
    await parking.give_back(second, reusable=True)
    await parking.close()


async def test_a_waiter_times_out_like_the_pool(engine: AsyncEngine) -> None:
    parking = _parking(engine, timeout=0.1)
    held = [await parking.take(), await parking.take()]
    with pytest.raises(PoolTimeout, match=r"within 0\.1 s"):
        await parking.take()
    for conn in held:  # the timed-out waiter left nothing behind
        await parking.give_back(conn, reusable=True)
    assert parking.parked == 1
    assert _checked_out(engine) == 1
    await parking.close()


async def test_a_connection_handed_to_a_cancelled_waiter_is_not_lost(engine: AsyncEngine) -> None:
    parking = _parking(engine)
    first, second = await parking.take(), await parking.take()
    waiter = asyncio.create_task(parking.take())
    await asyncio.sleep(0.05)
    await parking.give_back(first, reusable=True)  # handed over, not yet picked up...
    waiter.cancel()  # ...when the waiter is cancelled
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert await parking.take() is first  # parked for the next transaction
    await parking.give_back(first, reusable=True)
    await parking.give_back(second, reusable=True)
    await parking.close()
    assert _checked_out(engine) == 0
