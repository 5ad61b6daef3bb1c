"""The ``browser_sessions`` table: the only module that reads or writes it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.tables import browser_sessions

__all__ = ["delete_expired_sessions", "delete_session", "insert_session", "session_user"]


async def session_user(
    conn: AsyncConnection, *, id_hash: str
) -> tuple[str | None, datetime] | None:
    """The signed-in user (``None`` for none) and expiry of the session, if it is stored."""
    row = (
        await conn.execute(
            select(browser_sessions.c.user_id, browser_sessions.c.expires_at).where(
                browser_sessions.c.id_hash == id_hash
            )
        )
    ).first()
    return (row.user_id, row.expires_at) if row is not None else None


async def insert_session(
    conn: AsyncConnection, *, id_hash: str, user_id: str, created_at: datetime, expires_at: datetime
) -> None:
    await conn.execute(
        insert(browser_sessions).values(
            id_hash=id_hash, user_id=user_id, created_at=created_at, expires_at=expires_at
        )
    )


async def delete_session(conn: AsyncConnection, *, id_hash: str) -> None:
    await conn.execute(delete(browser_sessions).where(browser_sessions.c.id_hash == id_hash))


async def delete_expired_sessions(conn: AsyncConnection, *, now: datetime) -> int:
    """Delete the sessions expired by ``now``; how many went."""
    result = await conn.execute(
        delete(browser_sessions).where(browser_sessions.c.expires_at <= now)
    )
    return int(result.rowcount or 0)
