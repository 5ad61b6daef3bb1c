"""The body deadlines of `web.edge` (RFC 9110 §15.5.9), kept by one timer.

A read of a request body that may wait is registered (`BodyDeadlines.waiting`)
while it waits. One timer, armed for the earliest deadline among the registered
reads, cancels the task of each read still waiting past its deadline; the read
tells that cancellation from any other one by `Waiter.expired` and takes it back
with ``Task.uncancel``, as ``asyncio.timeout`` does. ``asyncio.timeout`` around
every read armed and cancelled a timer of its own each time, a quarter of a small
request's CPU; here a timer is armed again only once the last one has fired.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

__all__ = ["BodyDeadlines", "Waiter"]


class Waiter(Protocol):
    """A body read: its deadline (on the loop's clock), its task, whether it expired."""

    deadline: float | None
    task: asyncio.Task[object] | None
    expired: bool


class BodyDeadlines:
    """The registered reads of one edge and the timer of the earliest deadline."""

    __slots__ = ("loop", "timer", "waiting")

    def __init__(self) -> None:
        self.waiting: set[Waiter] = set()
        self.timer: asyncio.TimerHandle | None = None
        self.loop: asyncio.AbstractEventLoop | None = None

    def wait(self, reader: Waiter, loop: asyncio.AbstractEventLoop) -> None:
        """Register ``reader``, about to wait in its task for the next body message."""
        assert reader.deadline is not None
        reader.task = asyncio.current_task(loop)
        if self.loop is not loop:  # reads of another (closed) loop will never resume
            self.waiting.clear()
            self.timer = None
            self.loop = loop
        self.waiting.add(reader)
        if self.timer is None or reader.deadline < self.timer.when():
            self._arm(loop, reader.deadline)

    def done(self, reader: Waiter) -> None:
        """``reader`` no longer waits (it has its message, or was cancelled)."""
        self.waiting.discard(reader)

    def _arm(self, loop: asyncio.AbstractEventLoop, when: float) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = loop.call_at(when, self._expire, loop)

    def _expire(self, loop: asyncio.AbstractEventLoop) -> None:
        self.timer = None
        now = loop.time()
        for reader in [r for r in self.waiting if r.deadline is not None and r.deadline <= now]:
            self.waiting.discard(reader)
            reader.expired = True
            if reader.task is not None:
                reader.task.cancel()
        deadlines = [r.deadline for r in self.waiting if r.deadline is not None]
        if deadlines:
            self._arm(loop, min(deadlines))
