"""Fixtures of the storage tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from i18n_connect.storage.database import Database


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[Database]:
    """A `Database` of its own, with a small pool (two kept, two more at most)."""
    database = Database(database_url, pool_size=2)
    yield database
    await database.dispose()
