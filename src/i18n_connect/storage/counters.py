"""Fixed-window rate limits kept in the database, so every server process shares them.

A key (``purpose:subject``, e.g. ``login:ip:203.0.113.7``) counts events in
windows aligned to multiples of ``window`` seconds since the epoch. One
``INSERT … ON CONFLICT DO UPDATE … RETURNING`` counts an event atomically on
SQLite and PostgreSQL alike, inside the caller's transaction.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, case, delete, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.statements import Statement
from i18n_connect.storage.tables import rate_counters

__all__ = ["hit", "purge", "reset", "undo"]

_MAX_KEY_LENGTH = 200


def _window_start(now: datetime, window: int) -> datetime:
    seconds = int(now.timestamp()) // window * window
    return datetime.fromtimestamp(seconds, UTC)


def _retry_after(start: datetime, window: int, now: datetime) -> int:
    remaining = (start + timedelta(seconds=window) - now).total_seconds()
    return max(1, math.ceil(remaining))


def _upsert(insert: Any) -> Statement:
    """Count one event of a key: one ``INSERT … ON CONFLICT DO UPDATE … RETURNING``."""
    statement = insert(rate_counters).values(
        key=bindparam("key"), window_start=bindparam("window_start"), count=1
    )
    statement = statement.on_conflict_do_update(
        index_elements=[rate_counters.c.key],
        set_={
            "count": case(
                (
                    rate_counters.c.window_start == statement.excluded.window_start,
                    rate_counters.c.count + 1,
                ),
                else_=1,
            ),
            "window_start": statement.excluded.window_start,
        },
    )
    return Statement(statement.returning(rate_counters.c.count))


_HIT = {"postgresql": _upsert(postgresql_insert), "sqlite": _upsert(sqlite_insert)}


async def hit(
    conn: AsyncConnection, key: str, *, limit: int, window: int, now: datetime
) -> int | None:
    """Count one event; the seconds to wait when this event is over ``limit``, else ``None``."""
    if len(key) > _MAX_KEY_LENGTH:
        raise ValueError(f"rate-limit keys are at most {_MAX_KEY_LENGTH} characters")
    start = _window_start(now, window)
    row = await _HIT[conn.dialect.name].one(conn, key=key, window_start=start)
    return _retry_after(start, window, now) if row.count > limit else None


async def undo(conn: AsyncConnection, key: str, *, window: int, now: datetime) -> None:
    """Take back one event of the current window (it turned out not to count)."""
    await conn.execute(
        update(rate_counters)
        .where(
            rate_counters.c.key == key,
            rate_counters.c.window_start == _window_start(now, window),
            rate_counters.c.count > 0,
        )
        .values(count=rate_counters.c.count - 1)
    )


async def reset(conn: AsyncConnection, key: str) -> None:
    """Forget every event of ``key``."""
    await conn.execute(delete(rate_counters).where(rate_counters.c.key == key))


async def purge(conn: AsyncConnection, *, before: datetime) -> int:
    """Delete counters whose window started before ``before`` (for ``gc``); how many went.

    A counter of a past window counts as zero anyway, so any ``before`` at least one
    window length in the past changes no limit.
    """
    result = await conn.execute(delete(rate_counters).where(rate_counters.c.window_start < before))
    return int(result.rowcount or 0)
