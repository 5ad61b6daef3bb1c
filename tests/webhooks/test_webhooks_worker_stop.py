"""The delivery worker that runs beside the server stops when its block ends, even when it is
stopped in the middle of a statement or its round answers the stop with an error of its own."""

from __future__ import annotations

import asyncio
from datetime import datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.services import Services
from i18n_connect.storage import webhooks as stored
from i18n_connect.webhooks import worker
from i18n_connect.webhooks.worker import deliveries_running

pytestmark = pytest.mark.timeout(60)


async def test_the_worker_stopped_mid_statement_ends_with_its_block(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert services.settings.webhook_poll_seconds > 0
    reading = asyncio.Event()
    any_due = stored.any_due

    async def any_due_noticed(conn: AsyncConnection, *, now: datetime) -> bool:
        reading.set()
        return await any_due(conn, now=now)

    monkeypatch.setattr(stored, "any_due", any_due_noticed)

    async def run_until_reading() -> None:
        async with deliveries_running(services):
            await reading.wait()

    block = asyncio.create_task(run_until_reading())
    done, _ = await asyncio.wait({block}, timeout=5)
    assert done == {block}
    assert block.exception() is None
    assert [task.get_name() for task in asyncio.all_tasks()].count("webhooks") == 0


async def test_a_round_failing_as_it_is_stopped_ends_the_worker(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    rounds = 0
    in_round = asyncio.Event()

    async def failing_when_stopped(_services: Services) -> int:
        nonlocal rounds
        rounds += 1
        in_round.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            if rounds == 1:
                raise RuntimeError("cleanup failed") from None
            raise
        return 0

    monkeypatch.setattr(worker, "deliver_due", failing_when_stopped)

    async def run_until_in_round() -> None:
        async with deliveries_running(services):
            await in_round.wait()

    block = asyncio.create_task(run_until_in_round())
    done, _ = await asyncio.wait({block}, timeout=5)
    assert done == {block}
    assert block.exception() is None
    assert rounds == 1
