"""The ``idempotency_keys`` table: the only module that reads or writes it.

One row per (caller, ``Idempotency-Key``) of a partner-API write: the hash of the first
request, and once it has answered, its status, a few headers and its body (encrypted by the
caller of this module; nothing here sees it in clear). A row without a status is a claim:
the first request is still running. Every change is conditional, so of several concurrent
requests with one key exactly one claims it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.tables import idempotency_keys as table

__all__ = [
    "IdempotencyRecord",
    "claim",
    "complete",
    "delete_expired",
    "find",
    "forget",
    "release",
]

_INSERT: dict[str, Any] = {"postgresql": postgresql_insert, "sqlite": sqlite_insert}


@dataclass(frozen=True, slots=True)
class IdempotencyRecord:
    caller: str
    key: str
    request_hash: str
    status: int | None  # None: the first request is still running
    headers: dict[str, str] | None
    body: bytes | None
    created_at: datetime
    expires_at: datetime


def _record(row: Any) -> IdempotencyRecord:
    return IdempotencyRecord(
        caller=row.caller,
        key=row.key,
        request_hash=row.request_hash,
        status=row.status,
        headers=dict(row.headers) if row.headers is not None else None,
        body=bytes(row.body) if row.body is not None else None,
        created_at=row.created_at,
        expires_at=row.expires_at,
    )


async def find(conn: AsyncConnection, *, caller: str, key: str) -> IdempotencyRecord | None:
    row = (
        await conn.execute(select(table).where(table.c.caller == caller, table.c.key == key))
    ).first()
    return _record(row) if row is not None else None


async def claim(
    conn: AsyncConnection,
    *,
    caller: str,
    key: str,
    request_hash: str,
    now: datetime,
    expires_at: datetime,
    stale_before: datetime,
) -> IdempotencyRecord | None:
    """Take ``key`` for a request about to run: ``None`` when this request took it, else the
    row that holds it (answered, or claimed by a request still running).

    A row past ``expires_at`` (not yet collected) and a claim made before ``stale_before``
    whose request never answered (its process died) are taken over, by a conditional update
    that only one of several concurrent requests wins.
    """
    values = {
        "caller": caller,
        "key": key,
        "request_hash": request_hash,
        "created_at": now,
        "expires_at": expires_at,
    }
    for _ in range(2):  # once more if the holder released the key between the two statements
        insert = _INSERT[conn.dialect.name](table).values(**values)
        inserted = await conn.execute(
            insert.on_conflict_do_nothing(index_elements=[table.c.caller, table.c.key]).returning(
                table.c.key
            )
        )
        if inserted.first() is not None:
            return None
        held = await find(conn, caller=caller, key=key)
        if held is None:
            continue
        stale = held.status is None and held.created_at <= stale_before
        if held.expires_at > now and not stale:
            return held
        taken = await conn.execute(
            update(table)
            .where(
                table.c.caller == caller,
                table.c.key == key,
                table.c.created_at == held.created_at,
            )
            .values(status=None, headers=None, body=None, **values)
        )
        if taken.rowcount == 1:
            return None
        return await find(conn, caller=caller, key=key) or held
    return await find(conn, caller=caller, key=key)


async def complete(
    conn: AsyncConnection,
    *,
    caller: str,
    key: str,
    claimed_at: datetime,
    status: int,
    headers: Mapping[str, str],
    body: bytes,
) -> bool:
    """Record the answer of the request that claimed ``key`` at ``claimed_at``; ``False``
    when its claim was taken over meanwhile (it had gone stale)."""
    result = await conn.execute(
        update(table)
        .where(
            table.c.caller == caller,
            table.c.key == key,
            table.c.created_at == claimed_at,
            table.c.status.is_(None),
        )
        .values(status=status, headers=dict(headers), body=body)
    )
    return result.rowcount == 1


async def release(conn: AsyncConnection, *, caller: str, key: str, claimed_at: datetime) -> None:
    """Give up an unanswered claim, so that the next request with the key runs."""
    await conn.execute(
        delete(table).where(
            table.c.caller == caller,
            table.c.key == key,
            table.c.created_at == claimed_at,
            table.c.status.is_(None),
        )
    )


async def forget(conn: AsyncConnection, *, caller: str, key: str, created_at: datetime) -> None:
    """Delete the record of ``key`` made at ``created_at``, answered or not (its kept answer
    can no longer be read)."""
    await conn.execute(
        delete(table).where(
            table.c.caller == caller, table.c.key == key, table.c.created_at == created_at
        )
    )


async def delete_expired(conn: AsyncConnection, *, now: datetime) -> int:
    """Delete the keys expired by ``now`` (for ``gc``); how many went."""
    result = await conn.execute(delete(table).where(table.c.expires_at <= now))
    return int(result.rowcount or 0)
