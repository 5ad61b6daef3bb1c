"""A task that runs beside the server while a block is open (serve's garbage collection and
webhook delivery), cancelled and awaited when the block ends."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from typing import Any

__all__ = ["running", "stopping"]


@asynccontextmanager
async def running(work: Coroutine[Any, Any, None], *, name: str) -> AsyncIterator[None]:
    task = asyncio.create_task(work, name=name)
    try:
        yield
    finally:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            if stopping():  # the block's own task is being cancelled too: let that through
                raise


def stopping() -> bool:
    """Whether the current task has been asked to stop: a round that failed meanwhile may have
    raised its own error instead of the cancellation, and must not start another."""
    task = asyncio.current_task()
    return task is not None and task.cancelling() > 0
