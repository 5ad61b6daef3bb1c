"""The database-backed fixed-window limiter shared by every process."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import anyio
import pytest
from sqlalchemy import select

from i18n_connect.clock import FrozenClock
from i18n_connect.services import Services
from i18n_connect.storage.counters import hit, purge, reset, undo
from i18n_connect.storage.tables import rate_counters


async def _hit(services: Services, key: str, clock: FrozenClock, limit: int = 3) -> int | None:
    async with services.db.transaction() as conn:
        return await hit(conn, key, limit=limit, window=60, now=clock.now())


async def _count(services: Services, key: str) -> int | None:
    async with services.db.transaction(readonly=True) as conn:
        return (
            await conn.execute(select(rate_counters.c.count).where(rate_counters.c.key == key))
        ).scalar_one_or_none()


async def test_events_up_to_the_limit_pass_and_the_next_gets_the_rest_of_the_window(
    services: Services, clock: FrozenClock
) -> None:
    clock.advance(seconds=15)  # 12:00:15, window 12:00:00-12:01:00
    assert [await _hit(services, "t:a", clock) for _ in range(3)] == [None, None, None]
    assert await _hit(services, "t:a", clock) == 45
    clock.advance(seconds=44.5)
    assert await _hit(services, "t:a", clock) == 1
    assert await _count(services, "t:a") == 5


async def test_a_new_window_starts_from_one(services: Services, clock: FrozenClock) -> None:
    for _ in range(5):
        await _hit(services, "t:a", clock)
    clock.advance(seconds=60)
    assert await _hit(services, "t:a", clock) is None
    assert await _count(services, "t:a") == 1


async def test_keys_are_counted_separately(services: Services, clock: FrozenClock) -> None:
    for _ in range(4):
        await _hit(services, "t:a", clock)
    assert await _hit(services, "t:b", clock) is None
    assert await _count(services, "t:b") == 1


async def test_undo_takes_back_one_event_of_the_current_window_only(
    services: Services, clock: FrozenClock
) -> None:
    await _hit(services, "t:a", clock)
    await _hit(services, "t:a", clock)
    async with services.db.transaction() as conn:
        await undo(conn, "t:a", window=60, now=clock.now())
    assert await _count(services, "t:a") == 1
    clock.advance(seconds=60)
    async with services.db.transaction() as conn:
        await undo(conn, "t:a", window=60, now=clock.now())
    assert await _count(services, "t:a") == 1


async def test_reset_forgets_the_key(services: Services, clock: FrozenClock) -> None:
    for _ in range(4):
        await _hit(services, "t:a", clock)
    async with services.db.transaction() as conn:
        await reset(conn, "t:a")
    assert await _count(services, "t:a") is None
    assert await _hit(services, "t:a", clock) is None


async def test_concurrent_hits_are_all_counted(services: Services, clock: FrozenClock) -> None:
    results: list[int | None] = []

    async def one() -> None:
        results.append(await _hit(services, "t:race", clock, limit=5))

    async with anyio.create_task_group() as group:
        for _ in range(8):
            group.start_soon(one)
    assert await _count(services, "t:race") == 8
    assert sorted(results, key=lambda value: value or 0).count(None) == 5


async def test_overlong_keys_are_refused(services: Services) -> None:
    async with services.db.transaction() as conn:
        with pytest.raises(ValueError, match="at most 200"):
            await hit(conn, "k" * 201, limit=1, window=60, now=datetime(2026, 1, 1, tzinfo=UTC))


async def test_purge_deletes_only_counters_of_past_windows(
    services: Services, clock: FrozenClock
) -> None:
    await _hit(services, "t:old", clock)
    clock.advance(hours=2)
    await _hit(services, "t:new", clock)
    async with services.db.transaction() as conn:
        assert await purge(conn, before=clock.now() - timedelta(hours=1)) == 1
    assert await _count(services, "t:old") is None
    assert await _count(services, "t:new") == 1
