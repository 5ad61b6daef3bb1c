"""The ``audit_events`` table: the only module that reads or writes it."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, select
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.statements import Statement
from i18n_connect.storage.tables import audit_events

__all__ = ["AuditEvent", "recent", "record", "search"]

_INSERT = Statement.insert(audit_events, generated=("id",))


@dataclass(frozen=True, slots=True)
class AuditEvent:
    id: int
    occurred_at: datetime
    action: str
    actor: str
    user_id: str | None
    client_id: str | None
    organization_id: str | None
    grant_id: str | None
    detail: dict[str, Any]


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
    """Append one event inside the caller's transaction (it commits or rolls back with it);
    a hot path, hence a `Statement`. ``detail`` must never contain a secret: ids and scopes only.
    """
    await _INSERT.rowcount(
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
    query = select(audit_events).order_by(audit_events.c.id.desc()).limit(limit)
    if grant_id is not None:
        query = query.where(audit_events.c.grant_id == grant_id)
    if organization_id is not None:
        query = query.where(audit_events.c.organization_id == organization_id)
    return _events(reversed((await conn.execute(query)).all()))


async def search(
    conn: AsyncConnection,
    *,
    organization_id: str,
    limit: int,
    client_id: str | None = None,
    actor: str | None = None,
    action: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[AuditEvent]:
    """The organization's newest ``limit`` events matching every given filter, newest first
    (``action`` also matches its family: ``grant`` finds ``grant.revoked``)."""
    query = (
        select(audit_events)
        .where(audit_events.c.organization_id == organization_id)
        .order_by(audit_events.c.id.desc())
        .limit(limit)
    )
    if client_id is not None:
        query = query.where(audit_events.c.client_id == client_id)
    if actor is not None:
        query = query.where(audit_events.c.actor == actor)
    if action is not None:
        query = query.where(
            (audit_events.c.action == action) | audit_events.c.action.startswith(action + ".")
        )
    if since is not None:
        query = query.where(audit_events.c.occurred_at >= since)
    if until is not None:
        query = query.where(audit_events.c.occurred_at < until)
    return _events((await conn.execute(query)).all())


def _events(rows: Iterable[Row[Any]]) -> list[AuditEvent]:
    return [
        AuditEvent(
            id=row.id,
            occurred_at=row.occurred_at,
            action=row.action,
            actor=row.actor,
            user_id=row.user_id,
            client_id=row.client_id,
            organization_id=row.organization_id,
            grant_id=row.grant_id,
            detail=dict(row.detail or {}),
        )
        for row in rows
    ]
