"""Inserts a unique constraint may refuse, without spoiling the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Executable
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["insert_unique"]


async def insert_unique(
    conn: AsyncConnection, statement: Executable, rows: Sequence[Mapping[str, Any]] | None = None
) -> bool:
    """Run an INSERT in a savepoint (once per row of ``rows``, batched, when given); ``False``
    when a constraint refused a row (a concurrent insert won), with the caller's transaction
    still usable."""
    try:
        async with conn.begin_nested():
            await conn.execute(statement, rows)
    except IntegrityError:
        return False
    return True
