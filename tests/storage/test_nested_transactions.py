"""A write transaction opened while the same task holds one fails at once with a clear
error, on both backends: on SQLite it would otherwise wait out the busy timeout behind
its own write lock, on PostgreSQL it would commit apart from the outer one."""

from __future__ import annotations

import asyncio
import time

import pytest
from sqlalchemy import text

from i18n_connect.storage.database import Database

_AT_ONCE_SECONDS = 1.0


async def test_a_nested_write_transaction_fails_at_once(db: Database) -> None:
    started = time.monotonic()
    async with db.transaction() as outer:
        with pytest.raises(RuntimeError, match="write transaction is already open"):
            async with asyncio.timeout(_AT_ONCE_SECONDS), db.transaction():
                pass
        assert (await outer.execute(text("SELECT 1"))).scalar_one() == 1  # still usable
    assert time.monotonic() - started < _AT_ONCE_SECONDS


async def test_a_read_transaction_inside_a_write_transaction_is_allowed(db: Database) -> None:
    async with db.transaction(), db.transaction(readonly=True) as inner:
        assert (await inner.execute(text("SELECT 1"))).scalar_one() == 1


async def test_write_transactions_of_other_tasks_still_wait_their_turn(db: Database) -> None:
    async def write() -> int:
        async with db.transaction() as conn:
            await asyncio.sleep(0.01)
            return int((await conn.execute(text("SELECT 1"))).scalar_one())

    assert await asyncio.gather(write(), write(), write()) == [1, 1, 1]
