"""Connections kept between transactions: the connections one event loop holds out of the
engine's pool, handed from one transaction to the next (see `Database.transaction`).

A checkout from SQLAlchemy's async pool and the check-in after it cost about 150 µs of
CPU, and on PostgreSQL the pool's pre-ping adds a round trip. A finished connection is
therefore given straight to a transaction waiting here, or parked for the next one (up
to ``keep``). Only when none is parked and fewer than ``capacity`` are out does a
transaction go to the pool; when all are busy it waits here, first come first served, as
long as the pool itself would have let it wait.
"""

from __future__ import annotations

import asyncio
from collections import deque

from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

__all__ = ["Parking"]


class Parking:
    """The connections of one event loop: parked, busy, or on their way to a waiter."""

    def __init__(
        self, engine: AsyncEngine, *, keep: int, capacity: int | None, timeout: float
    ) -> None:
        self._engine = engine
        self._keep = keep
        self._capacity = capacity  # None: the pool never makes anyone wait (:memory:)
        self._timeout = timeout
        self._idle: list[AsyncConnection] = []
        # A waiter receives a connection, or None: "a slot is free, check one out".
        self._waiters: deque[asyncio.Future[AsyncConnection | None]] = deque()
        self._out = 0  # checked out of the pool: parked, busy or being handed over

    @property
    def parked(self) -> int:
        return len(self._idle)

    async def take(self) -> AsyncConnection:
        """A parked connection, the next one to finish, or a new checkout from the pool."""
        if self._idle:
            return self._idle.pop()
        if self._capacity is not None and self._out >= self._capacity:
            handed = await self._wait()
            if handed is not None:
                return handed
        self._out += 1
        try:
            return await self._engine.connect()
        except BaseException:
            self._out -= 1
            self._hand_over(None)
            raise

    async def give_back(
        self, conn: AsyncConnection, *, reusable: bool, server_lost: bool = False
    ) -> None:
        """To a waiter or the parking if ``reusable``; else (or if the parking is full) to the
        pool, telling a waiter that a slot is free.

        ``server_lost``: the connection's server went away (a restart, a failover).
        The parked connections are from the same server, so they go too, as the
        pool's own connections do; each would otherwise cost a request its 503.
        """
        if reusable and self._hand_over(conn):
            return
        self._out -= 1
        self._hand_over(None)
        await conn.close()
        if server_lost:
            await self.close()

    async def close(self) -> None:
        """Return the parked connections to the pool (before the engine is disposed)."""
        while self._idle:
            self._out -= 1
            self._hand_over(None)
            await self._idle.pop().close()

    async def _wait(self) -> AsyncConnection | None:
        waiter: asyncio.Future[AsyncConnection | None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        try:
            async with asyncio.timeout(self._timeout):
                return await waiter
        except BaseException as exc:
            self._withdraw(waiter)
            if isinstance(exc, TimeoutError):
                raise PoolTimeout(
                    f"no database connection was free within {self._timeout:g} s"
                ) from exc
            raise

    def _withdraw(self, waiter: asyncio.Future[AsyncConnection | None]) -> None:
        """A waiter gives up (timeout, cancellation): what was handed to it goes on."""
        if waiter in self._waiters:
            self._waiters.remove(waiter)
        elif waiter.done() and not waiter.cancelled():
            handed = waiter.result()
            if not self._hand_over(handed) and handed is not None:
                self._idle.append(handed)  # the parking is full: over by one, for a while

    def _hand_over(self, conn: AsyncConnection | None) -> bool:
        """Give ``conn`` (or a free slot) to the first live waiter, else park ``conn``;
        whether it found a place."""
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(conn)
                return True
        if conn is not None and len(self._idle) < self._keep:
            self._idle.append(conn)
            return True
        return False
