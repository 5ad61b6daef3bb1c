"""`storage.unique.insert_unique`: a refused INSERT is ``False`` and leaves the caller's
transaction usable, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import Insert, func, insert, select

from i18n_connect.storage.database import Database
from i18n_connect.storage.tables import rate_counters
from i18n_connect.storage.unique import insert_unique

NOW = datetime(2026, 5, 4, 3, 2, 1, tzinfo=UTC)


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    database = Database(database_url)
    yield database
    await database.dispose()


def counter(key: str, count: int) -> Insert:
    return insert(rate_counters).values(key=key, window_start=NOW, count=count)


async def test_a_taken_key_is_false_and_the_transaction_goes_on(db: Database) -> None:
    async with db.transaction() as conn:
        assert await insert_unique(conn, counter("login:a", 1)) is True
        assert await insert_unique(conn, counter("login:a", 2)) is False
        assert await insert_unique(conn, counter("login:b", 3)) is True
    async with db.transaction(readonly=True) as conn:
        rows = (await conn.execute(select(rate_counters.c.key, rate_counters.c.count))).all()
        assert sorted(map(tuple, rows)) == [("login:a", 1), ("login:b", 3)]
        assert await conn.scalar(select(func.count()).select_from(rate_counters)) == 2
