"""Inserts a unique constraint may refuse, without spoiling the caller's transaction."""

from __future__ import annotations

from sqlalchemy import Executable
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

__all__ = ["insert_unique"]


async def insert_unique(conn: AsyncConnection, statement: Executable) -> bool:
    """Run an INSERT in a savepoint; ``False`` when a constraint refused its row (a concurrent
    insert won), with the caller's transaction still usable."""
    try:
        async with conn.begin_nested():
            await conn.execute(statement)
    except IntegrityError:
        return False
    return True
