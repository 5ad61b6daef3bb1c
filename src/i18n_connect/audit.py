"""The append-only audit log: who did what to which grant, organization or client, and the
newest events of it for ``i18n-connect audit tail``."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage import audit as audit_store
from i18n_connect.storage.audit import AuditEvent

__all__ = ["AuditEvent", "recent", "record"]


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
    await audit_store.insert_event(
        conn,
        occurred_at=now,
        action=action,
        actor=actor,
        user_id=user_id,
        client_id=client_id,
        organization_id=organization_id,
        grant_id=grant_id,
        detail=detail or {},
    )


async def recent(
    conn: AsyncConnection,
    *,
    limit: int,
    grant_id: str | None = None,
    organization_id: str | None = None,
) -> list[AuditEvent]:
    """The newest ``limit`` events matching the filters, oldest first."""
    return await audit_store.recent_events(
        conn, limit=limit, grant_id=grant_id, organization_id=organization_id
    )
