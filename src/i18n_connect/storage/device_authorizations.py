"""The ``device_authorizations`` table (RFC 8628 §3.2-§3.5): the only module that reads or
writes it.

Each row is one device authorization request, found by the keyed hash of its
``device_code`` (the token endpoint) or of its normalized ``user_code`` (the
``/device`` page). Every change of state is a conditional update, so of several
concurrent answers, polls or redemptions exactly one gets through.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, cast

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.oauth_tables import device_authorizations as table
from i18n_connect.storage.unique import insert_unique

__all__ = [
    "DeviceAuthorization",
    "Status",
    "answer",
    "by_device_code_hash",
    "by_user_code_hash",
    "delete_expired",
    "insert_authorization",
    "poll_allowed",
    "redeem",
    "slow_down",
]

Status = Literal["pending", "approved", "denied"]


@dataclass(frozen=True, slots=True)
class DeviceAuthorization:
    id: str
    client_id: str
    scope: tuple[str, ...]
    resource: str | None
    interval: int
    next_poll_at: datetime
    status: Status
    created_at: datetime
    expires_at: datetime
    user_id: str | None = None
    grant_ids: tuple[str, ...] = ()
    answered_at: datetime | None = None
    consumed_at: datetime | None = None


def _authorization(row: Any) -> DeviceAuthorization:
    return DeviceAuthorization(
        id=row.id,
        client_id=row.client_id,
        scope=tuple(row.scope.split()),
        resource=row.resource,
        interval=row.interval,
        next_poll_at=row.next_poll_at,
        status=cast(Status, row.status),
        created_at=row.created_at,
        expires_at=row.expires_at,
        user_id=row.user_id,
        grant_ids=tuple(row.grant_ids or ()),
        answered_at=row.answered_at,
        consumed_at=row.consumed_at,
    )


async def insert_authorization(
    conn: AsyncConnection,
    authorization: DeviceAuthorization,
    *,
    device_code_hash: str,
    user_code_hash: str,
) -> bool:
    """Store a new request; ``False`` (nothing stored) when its user code is already in use."""
    return await insert_unique(
        conn,
        insert(table).values(
            id=authorization.id,
            device_code_hash=device_code_hash,
            user_code_hash=user_code_hash,
            client_id=authorization.client_id,
            scope=" ".join(authorization.scope),
            resource=authorization.resource,
            interval=authorization.interval,
            next_poll_at=authorization.next_poll_at,
            status=authorization.status,
            created_at=authorization.created_at,
            expires_at=authorization.expires_at,
        ),
    )


async def _one(conn: AsyncConnection, *where: Any) -> DeviceAuthorization | None:
    row = (await conn.execute(select(table).where(*where))).first()
    return _authorization(row) if row is not None else None


async def by_device_code_hash(
    conn: AsyncConnection, device_code_hash: str
) -> DeviceAuthorization | None:
    return await _one(conn, table.c.device_code_hash == device_code_hash)


async def by_user_code_hash(
    conn: AsyncConnection, user_code_hash: str
) -> DeviceAuthorization | None:
    return await _one(conn, table.c.user_code_hash == user_code_hash)


async def answer(
    conn: AsyncConnection,
    authorization_id: str,
    *,
    status: Status,
    user_id: str,
    scope: Sequence[str],
    grant_ids: Sequence[str],
    now: datetime,
) -> bool:
    """Record the user's answer if the request is still pending and unexpired."""
    result = await conn.execute(
        update(table)
        .where(
            table.c.id == authorization_id, table.c.status == "pending", table.c.expires_at > now
        )
        .values(
            status=status,
            user_id=user_id,
            scope=" ".join(scope),
            grant_ids=list(grant_ids),
            answered_at=now,
        )
    )
    return result.rowcount == 1


async def poll_allowed(
    conn: AsyncConnection, authorization: DeviceAuthorization, *, next_poll_at: datetime
) -> bool:
    """Move the next allowed poll on if no other poll moved it since ``authorization`` was read."""
    result = await conn.execute(
        update(table)
        .where(table.c.id == authorization.id, table.c.next_poll_at == authorization.next_poll_at)
        .values(next_poll_at=next_poll_at)
    )
    return result.rowcount == 1


async def slow_down(
    conn: AsyncConnection, authorization: DeviceAuthorization, *, step: int, now: datetime
) -> int:
    """Grow the interval by ``step`` seconds (each of several concurrent polls grows it) and
    allow the next poll one new interval from ``now``; the new interval."""
    interval = authorization.interval + step
    await conn.execute(
        update(table)
        .where(table.c.id == authorization.id)
        .values(interval=table.c.interval + step, next_poll_at=now + timedelta(seconds=interval))
    )
    return interval


async def redeem(
    conn: AsyncConnection, *, device_code_hash: str, client_id: str, now: datetime
) -> DeviceAuthorization | None:
    """Consume an approved, unexpired, unconsumed request of ``client_id`` in one statement;
    ``None`` (nothing changed) otherwise."""
    row = (
        await conn.execute(
            update(table)
            .where(
                table.c.device_code_hash == device_code_hash,
                table.c.client_id == client_id,
                table.c.status == "approved",
                table.c.consumed_at.is_(None),
                table.c.expires_at > now,
            )
            .values(consumed_at=now)
            .returning(*table.c)
        )
    ).first()
    return _authorization(row) if row is not None else None


async def delete_expired(conn: AsyncConnection, *, now: datetime) -> int:
    """Delete the requests past their expiry, answered or not; how many went."""
    result = await conn.execute(delete(table).where(table.c.expires_at <= now))
    return int(result.rowcount or 0)
