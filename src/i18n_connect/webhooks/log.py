"""The delivery log a publisher reads, and redelivery: a new delivery of the same event (the
same ``webhook-id``) to the same endpoint, queued behind the endpoint's pending ones."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import NotFound
from i18n_connect.ids import new_id
from i18n_connect.storage import webhooks as stored
from i18n_connect.storage.webhooks import Delivery

__all__ = ["MAX_LISTED", "deliveries", "redeliver"]

MAX_LISTED = 100


async def deliveries(
    conn: AsyncConnection,
    *,
    client_id: str,
    endpoint_id: str | None = None,
    limit: int = MAX_LISTED,
    before: int | None = None,
) -> list[Delivery]:
    """The client's newest deliveries, newest first (at most ``limit``): those older than
    the delivery numbered ``before`` (`Delivery.seq`) only, if given."""
    return await stored.list_deliveries(
        conn, client_id=client_id, endpoint_id=endpoint_id, limit=limit, before=before
    )


async def redeliver(
    conn: AsyncConnection, *, client_id: str, delivery_id: str, now: datetime
) -> Delivery:
    """Queue the delivery's event again for its endpoint; the new delivery."""
    original = await stored.get_delivery(conn, delivery_id=delivery_id, client_id=client_id)
    if original is None:
        raise NotFound("No such webhook delivery.")
    again = new_id("whd")
    await stored.insert_delivery(
        conn,
        delivery_id=again,
        event_id=original.event_id,
        endpoint_id=original.endpoint_id,
        ordering_key=original.ordering_key,
        now=now,
    )
    created = await stored.get_delivery(conn, delivery_id=again, client_id=client_id)
    assert created is not None
    return created
