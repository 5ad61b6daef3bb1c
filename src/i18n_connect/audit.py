"""The append-only audit log: who did what to which grant, organization or client."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.tables import audit_events

__all__ = ["record"]


async def record(
    conn: AsyncConnection,
    *,
    action: str,
    actor: str,
    now: datetime,
    user_id: str | None = None,
    client_id: str | None = None,
    organization_id: str | None = None,
    grant_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    """Append one event inside the caller's transaction (it commits or rolls back with it).

    ``detail`` must never contain a secret: ids and scopes only.
    """
    await conn.execute(
        insert(audit_events).values(
            occurred_at=now,
            action=action,
            actor=actor,
            user_id=user_id,
            client_id=client_id,
            organization_id=organization_id,
            grant_id=grant_id,
            detail=detail or {},
        )
    )
