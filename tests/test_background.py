"""A task beside a block: cancelled and awaited when the block ends; its own cancellation is
absorbed, while a cancellation of the task running the block still reaches that task."""

from __future__ import annotations

import asyncio

import pytest

from i18n_connect.background import running

pytestmark = pytest.mark.timeout(30)


async def test_the_task_is_cancelled_and_awaited_when_the_block_ends() -> None:
    ended: list[str] = []

    async def work() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            ended.append("work")

    async with running(work(), name="beside"):
        await asyncio.sleep(0)
    assert ended == ["work"]


async def test_cancelling_the_block_while_the_task_stops_is_not_swallowed() -> None:
    stopping = asyncio.Event()

    async def slow_to_stop() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            stopping.set()
            await asyncio.sleep(0.5)  # cleanup that takes a while

    async def block() -> str:
        async with running(slow_to_stop(), name="beside"):
            await asyncio.sleep(0)
        return "went on after the block"

    outer = asyncio.create_task(block())
    await stopping.wait()
    outer.cancel()  # e.g. an outer timeout while the block waits for its task
    with pytest.raises(asyncio.CancelledError):
        await outer
