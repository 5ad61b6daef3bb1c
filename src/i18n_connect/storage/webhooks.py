"""The ``webhook_endpoints``, ``webhook_events`` and ``webhook_deliveries`` tables: the only
module that reads or writes them.

Events are the transactional outbox: `insert_event` runs in the transaction of the change it
reports, with one delivery per subscribed endpoint. `claim_deliveries` hands due deliveries to
one worker under a lease (``FOR UPDATE … SKIP LOCKED`` on PostgreSQL, so concurrent workers
pass over each other's rows; SQLite's single writer serializes claims). A delivery waits while
an earlier one of its endpoint and ordering key is pending, so each grant's events arrive in
order. `finish_attempt` only writes when the caller still holds the lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, delete, exists, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.orm import aliased

from i18n_connect.storage.keyset import after as keyset_after
from i18n_connect.storage.oauth_tables import (
    webhook_deliveries,
    webhook_endpoints,
    webhook_events,
)

__all__ = [
    "Claimed",
    "Delivery",
    "Endpoint",
    "any_due",
    "claim_deliveries",
    "delete_endpoint",
    "finish_attempt",
    "get_delivery",
    "get_endpoint",
    "insert_delivery",
    "insert_endpoint",
    "insert_event",
    "list_deliveries",
    "list_endpoints",
    "mark_endpoint",
    "pending_count",
    "rotate_endpoint_secret",
    "subscribed_endpoints",
    "update_endpoint",
]


@dataclass(frozen=True, slots=True)
class Endpoint:
    id: str
    client_id: str
    url: str
    event_types: tuple[str, ...]
    secret_ciphertext: bytes
    previous_secret_ciphertext: bytes | None
    previous_secret_expires_at: datetime | None
    status: str
    failing_since: datetime | None
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Delivery:
    id: str
    event_id: str
    event_type: str
    endpoint_id: str
    ordering_key: str
    status: str
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_latency_ms: int | None
    last_response: str | None
    last_attempt_at: datetime | None
    created_at: datetime
    delivered_at: datetime | None
    seq: int  # the outbox's order: the delivery log's sort key


@dataclass(frozen=True, slots=True)
class Claimed:
    """A delivery held by one worker: what to send, and where."""

    id: str
    attempts: int  # including this one
    created_at: datetime
    event_id: str
    payload: str
    endpoint: Endpoint


def _endpoint(row: Row[Any]) -> Endpoint:
    return Endpoint(
        id=row.id,
        client_id=row.client_id,
        url=row.url,
        event_types=tuple(row.event_types),
        secret_ciphertext=row.secret_ciphertext,
        previous_secret_ciphertext=row.previous_secret_ciphertext,
        previous_secret_expires_at=row.previous_secret_expires_at,
        status=row.status,
        failing_since=row.failing_since,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


# Endpoints.


async def insert_endpoint(
    conn: AsyncConnection,
    *,
    endpoint_id: str,
    client_id: str,
    url: str,
    event_types: Sequence[str],
    secret_ciphertext: bytes,
    now: datetime,
) -> None:
    await conn.execute(
        insert(webhook_endpoints).values(
            id=endpoint_id,
            client_id=client_id,
            url=url,
            event_types=list(event_types),
            secret_ciphertext=secret_ciphertext,
            status="active",
            created_at=now,
            updated_at=now,
        )
    )


async def list_endpoints(
    conn: AsyncConnection,
    *,
    client_id: str,
    after: tuple[datetime, str] | None = None,
    limit: int | None = None,
) -> list[Endpoint]:
    """The client's endpoints by (created_at, id): those after the position ``after`` only
    and at most ``limit``, if given."""
    order = (webhook_endpoints.c.created_at, webhook_endpoints.c.id)
    query = select(webhook_endpoints).where(webhook_endpoints.c.client_id == client_id)
    if after is not None:
        query = query.where(keyset_after(order, after))
    rows = await conn.execute(query.order_by(*order).limit(limit))
    return [_endpoint(row) for row in rows.all()]


async def get_endpoint(
    conn: AsyncConnection, *, endpoint_id: str, client_id: str
) -> Endpoint | None:
    row = (
        await conn.execute(
            select(webhook_endpoints).where(
                webhook_endpoints.c.id == endpoint_id, webhook_endpoints.c.client_id == client_id
            )
        )
    ).first()
    return _endpoint(row) if row is not None else None


async def update_endpoint(
    conn: AsyncConnection, *, endpoint_id: str, url: str, event_types: Sequence[str], now: datetime
) -> None:
    await conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.id == endpoint_id)
        .values(url=url, event_types=list(event_types), updated_at=now)
    )


async def rotate_endpoint_secret(
    conn: AsyncConnection,
    *,
    endpoint_id: str,
    secret_ciphertext: bytes,
    previous_ciphertext: bytes | None,
    previous_expires_at: datetime | None,
    now: datetime,
) -> None:
    await conn.execute(
        update(webhook_endpoints)
        .where(webhook_endpoints.c.id == endpoint_id)
        .values(
            secret_ciphertext=secret_ciphertext,
            previous_secret_ciphertext=previous_ciphertext,
            previous_secret_expires_at=previous_expires_at,
            updated_at=now,
        )
    )


async def mark_endpoint(
    conn: AsyncConnection, *, endpoint_id: str, status: str, now: datetime, only_from: str | None
) -> bool:
    """Set the endpoint's status (``failing`` records since when); with ``only_from``, only
    if that is its status now. ``False`` when nothing changed."""
    condition = [webhook_endpoints.c.id == endpoint_id]
    if only_from is not None:
        condition.append(webhook_endpoints.c.status == only_from)
    result = await conn.execute(
        update(webhook_endpoints)
        .where(*condition)
        .values(status=status, failing_since=now if status == "failing" else None, updated_at=now)
    )
    return result.rowcount == 1


async def delete_endpoint(conn: AsyncConnection, *, endpoint_id: str) -> None:
    """Delete the endpoint and its deliveries (events stay for the client's other endpoints)."""
    await conn.execute(
        delete(webhook_deliveries).where(webhook_deliveries.c.endpoint_id == endpoint_id)
    )
    await conn.execute(delete(webhook_endpoints).where(webhook_endpoints.c.id == endpoint_id))


async def subscribed_endpoints(
    conn: AsyncConnection, *, client_ids: Sequence[str], event_type: str
) -> list[tuple[str, str]]:
    """(client id, endpoint id) of the clients' endpoints that want ``event_type`` and are not
    disabled (a failing endpoint keeps its events for when it is enabled again)."""
    rows = await conn.execute(
        select(
            webhook_endpoints.c.client_id, webhook_endpoints.c.id, webhook_endpoints.c.event_types
        ).where(
            webhook_endpoints.c.client_id.in_(client_ids),
            webhook_endpoints.c.status != "disabled",
        )
    )
    return [(row.client_id, row.id) for row in rows.all() if event_type in row.event_types]


# Events and deliveries.


async def insert_event(
    conn: AsyncConnection,
    *,
    event_id: str,
    client_id: str,
    event_type: str,
    payload: str,
    now: datetime,
) -> None:
    await conn.execute(
        insert(webhook_events).values(
            id=event_id, client_id=client_id, type=event_type, payload=payload, created_at=now
        )
    )


async def insert_delivery(
    conn: AsyncConnection,
    *,
    delivery_id: str,
    event_id: str,
    endpoint_id: str,
    ordering_key: str,
    now: datetime,
) -> None:
    await conn.execute(
        insert(webhook_deliveries).values(
            id=delivery_id,
            event_id=event_id,
            endpoint_id=endpoint_id,
            ordering_key=ordering_key,
            status="pending",
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


def _claimable(now: datetime) -> Any:
    """Due, pending, not leased (or its lease ran out), its endpoint active, and no earlier
    delivery of the same endpoint and ordering key still pending."""
    earlier = aliased(webhook_deliveries)
    return and_(
        webhook_deliveries.c.status == "pending",
        webhook_deliveries.c.next_attempt_at <= now,
        or_(
            webhook_deliveries.c.lease_expires_at.is_(None),
            webhook_deliveries.c.lease_expires_at <= now,
        ),
        webhook_endpoints.c.status == "active",
        ~exists().where(
            earlier.c.endpoint_id == webhook_deliveries.c.endpoint_id,
            earlier.c.ordering_key == webhook_deliveries.c.ordering_key,
            earlier.c.status == "pending",
            earlier.c.seq < webhook_deliveries.c.seq,
        ),
    )


async def any_due(conn: AsyncConnection, *, now: datetime) -> bool:
    """Whether a delivery could be claimed now (a read, before taking the write lock)."""
    query = (
        select(webhook_deliveries.c.seq)
        .join(webhook_endpoints, webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id)
        .where(_claimable(now))
        .limit(1)
    )
    return (await conn.execute(query)).first() is not None


async def claim_deliveries(
    conn: AsyncConnection,
    *,
    now: datetime,
    lease_token: str,
    lease_expires_at: datetime,
    limit: int,
) -> list[Claimed]:
    """Lease up to ``limit`` claimable deliveries to ``lease_token`` and count their attempt."""
    query = (
        select(
            webhook_deliveries.c.id.label("delivery_id"),
            webhook_deliveries.c.attempts,
            webhook_deliveries.c.created_at.label("delivery_created_at"),
            webhook_events.c.id.label("event_id"),
            webhook_events.c.payload,
            webhook_endpoints,
        )
        .join(webhook_endpoints, webhook_endpoints.c.id == webhook_deliveries.c.endpoint_id)
        .join(webhook_events, webhook_events.c.id == webhook_deliveries.c.event_id)
        .where(_claimable(now))
        .order_by(webhook_deliveries.c.seq)
        .limit(limit)
        .with_for_update(of=webhook_deliveries, skip_locked=True)
    )
    rows = (await conn.execute(query)).all()
    if not rows:
        return []
    await conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id.in_([row.delivery_id for row in rows]))
        .values(
            lease_token=lease_token,
            lease_expires_at=lease_expires_at,
            attempts=webhook_deliveries.c.attempts + 1,
            last_attempt_at=now,
        )
    )
    return [
        Claimed(
            id=row.delivery_id,
            attempts=row.attempts + 1,
            created_at=row.delivery_created_at,
            event_id=row.event_id,
            payload=row.payload,
            endpoint=_endpoint(row),
        )
        for row in rows
    ]


async def finish_attempt(
    conn: AsyncConnection,
    *,
    delivery_id: str,
    lease_token: str,
    status: str,
    next_attempt_at: datetime | None,
    status_code: int | None,
    latency_ms: int,
    response: str,
    now: datetime,
) -> bool:
    """Record an attempt's outcome and release the lease; ``False`` if the lease was lost."""
    values: dict[str, Any] = {
        "status": status,
        "lease_token": None,
        "lease_expires_at": None,
        "last_status_code": status_code,
        "last_latency_ms": latency_ms,
        "last_response": response,
    }
    if next_attempt_at is not None:
        values["next_attempt_at"] = next_attempt_at
    if status == "delivered":
        values["delivered_at"] = now
    result = await conn.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.id == delivery_id,
            webhook_deliveries.c.lease_token == lease_token,
        )
        .values(**values)
    )
    return result.rowcount == 1


_DELIVERY_COLUMNS = (
    webhook_deliveries.c.id,
    webhook_deliveries.c.event_id,
    webhook_events.c.type.label("event_type"),
    webhook_deliveries.c.endpoint_id,
    webhook_deliveries.c.ordering_key,
    webhook_deliveries.c.status,
    webhook_deliveries.c.attempts,
    webhook_deliveries.c.next_attempt_at,
    webhook_deliveries.c.last_status_code,
    webhook_deliveries.c.last_latency_ms,
    webhook_deliveries.c.last_response,
    webhook_deliveries.c.last_attempt_at,
    webhook_deliveries.c.created_at,
    webhook_deliveries.c.delivered_at,
    webhook_deliveries.c.seq,
)


def _delivery(row: Row[*tuple[Any, ...]]) -> Delivery:
    return Delivery(**row._asdict())


async def list_deliveries(
    conn: AsyncConnection,
    *,
    client_id: str,
    endpoint_id: str | None,
    limit: int,
    before: int | None = None,
) -> list[Delivery]:
    """The client's newest deliveries (of one endpoint, if given), newest first (by their
    sequence number): those older than the one numbered ``before`` only, if given."""
    query = (
        select(*_DELIVERY_COLUMNS)
        .join(webhook_events, webhook_events.c.id == webhook_deliveries.c.event_id)
        .where(webhook_events.c.client_id == client_id)
        .order_by(webhook_deliveries.c.seq.desc())
        .limit(limit)
    )
    if before is not None:
        query = query.where(webhook_deliveries.c.seq < before)
    if endpoint_id is not None:
        query = query.where(webhook_deliveries.c.endpoint_id == endpoint_id)
    return [_delivery(row) for row in (await conn.execute(query)).all()]


async def get_delivery(
    conn: AsyncConnection, *, delivery_id: str, client_id: str
) -> Delivery | None:
    row = (
        await conn.execute(
            select(*_DELIVERY_COLUMNS)
            .join(webhook_events, webhook_events.c.id == webhook_deliveries.c.event_id)
            .where(webhook_deliveries.c.id == delivery_id, webhook_events.c.client_id == client_id)
        )
    ).first()
    return _delivery(row) if row is not None else None


async def pending_count(conn: AsyncConnection) -> int:
    """Deliveries not yet delivered nor given up (bench and operations)."""
    query = select(func.count()).where(webhook_deliveries.c.status == "pending")
    return int((await conn.execute(query)).scalar_one())
