"""The ``connection_requests`` table: the only module that reads or writes it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, and_, func, insert, literal_column, or_, select, union_all, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.tables import (
    connection_requests,
    memberships,
    organization_policies,
    organizations,
)

__all__ = [
    "ConnectionRequest",
    "WaitingCount",
    "decide",
    "get_request",
    "insert_request",
    "live_requests",
    "mark_used",
    "waiting_counts",
]


@dataclass(frozen=True, slots=True)
class ConnectionRequest:
    id: str
    organization_id: str
    client_id: str
    user_id: str
    note: str
    status: str  # pending | approved | declined | used
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: str | None


def _request(row: Row[Any]) -> ConnectionRequest:
    return ConnectionRequest(
        id=row.id,
        organization_id=row.organization_id,
        client_id=row.client_id,
        user_id=row.user_id,
        note=row.note,
        status=row.status,
        created_at=row.created_at,
        expires_at=row.expires_at,
        decided_at=row.decided_at,
        decided_by=row.decided_by,
    )


async def insert_request(conn: AsyncConnection, request: ConnectionRequest) -> None:
    await conn.execute(
        insert(connection_requests).values(
            id=request.id,
            organization_id=request.organization_id,
            client_id=request.client_id,
            user_id=request.user_id,
            note=request.note,
            status=request.status,
            created_at=request.created_at,
            expires_at=request.expires_at,
        )
    )


async def get_request(conn: AsyncConnection, *, request_id: str) -> ConnectionRequest | None:
    row = (
        await conn.execute(
            select(connection_requests).where(connection_requests.c.id == request_id)
        )
    ).first()
    return _request(row) if row is not None else None


async def live_requests(
    conn: AsyncConnection,
    *,
    now: datetime,
    organization_id: str | None = None,
    user_id: str | None = None,
    client_id: str | None = None,
    statuses: tuple[str, ...] = ("pending", "approved"),
) -> list[ConnectionRequest]:
    """Unexpired requests in ``statuses`` matching every given filter, oldest first."""
    query = (
        select(connection_requests)
        .where(
            connection_requests.c.expires_at > now,
            connection_requests.c.status.in_(statuses),
        )
        .order_by(connection_requests.c.created_at, connection_requests.c.id)
    )
    for column, value in (
        (connection_requests.c.organization_id, organization_id),
        (connection_requests.c.user_id, user_id),
        (connection_requests.c.client_id, client_id),
    ):
        if value is not None:
            query = query.where(column == value)
    return [_request(row) for row in (await conn.execute(query)).all()]


async def decide(
    conn: AsyncConnection,
    *,
    request_id: str,
    status: str,
    actor: str,
    now: datetime,
    expires_at: datetime,
) -> bool:
    """Approve or decline a pending, unexpired request; ``False`` if it is no longer pending
    (a concurrent decision came first) or has expired."""
    result = await conn.execute(
        update(connection_requests)
        .where(
            connection_requests.c.id == request_id,
            connection_requests.c.status == "pending",
            connection_requests.c.expires_at > now,
        )
        .values(status=status, decided_at=now, decided_by=actor, expires_at=expires_at)
    )
    return result.rowcount == 1


async def mark_used(conn: AsyncConnection, *, request_id: str, now: datetime) -> bool:
    """Consume an approved, unexpired request (a consent used it); ``False`` if it was not."""
    result = await conn.execute(
        update(connection_requests)
        .where(
            connection_requests.c.id == request_id,
            connection_requests.c.status == "approved",
            connection_requests.c.expires_at > now,
        )
        .values(status="used")
    )
    return result.rowcount == 1


@dataclass(frozen=True, slots=True)
class WaitingCount:
    """Live requests of one organization that wait for one user: ``to_decide`` (pending, and
    the user may decide them) or ``approved`` (the user's own, approved and not yet used)."""

    kind: str  # to_decide | approved
    organization_slug: str
    organization_name: str
    count: int


async def waiting_counts(
    conn: AsyncConnection,
    *,
    user_id: str,
    now: datetime,
    deciding_roles: Mapping[str, tuple[str, ...]],
    default_connect_roles: str,
) -> list[WaitingCount]:
    """The site header's counts, per organization, in one statement: pending requests of the
    organizations where the user's role may decide them under the organization's policy
    (``deciding_roles``: a policy's ``connect_roles`` → the roles it lets connect apps; an
    organization without a policy row has ``default_connect_roles``), and the user's own
    approved requests. Reads ``memberships``, ``organization_policies`` and ``organizations``
    in the join, read only."""
    requests, members, policies, orgs = (
        connection_requests,
        memberships,
        organization_policies,
        organizations,
    )
    connect_roles = func.coalesce(policies.c.connect_roles, default_connect_roles)
    may_decide = or_(
        *(
            and_(connect_roles == setting, members.c.role.in_(roles))
            for setting, roles in deciding_roles.items()
        )
    )
    to_decide = (
        select(
            literal_column("'to_decide'").label("kind"),
            orgs.c.slug,
            orgs.c.name,
            func.count().label("waiting"),
        )
        .select_from(
            requests.join(
                members,
                and_(
                    members.c.organization_id == requests.c.organization_id,
                    members.c.user_id == user_id,
                ),
            )
            .join(orgs, orgs.c.id == requests.c.organization_id)
            .outerjoin(policies, policies.c.organization_id == requests.c.organization_id)
        )
        .where(requests.c.status == "pending", requests.c.expires_at > now, may_decide)
        .group_by(orgs.c.id, orgs.c.slug, orgs.c.name)
    )
    approved = (
        select(
            literal_column("'approved'").label("kind"),
            orgs.c.slug,
            orgs.c.name,
            func.count().label("waiting"),
        )
        .select_from(requests.join(orgs, orgs.c.id == requests.c.organization_id))
        .where(
            requests.c.user_id == user_id,
            requests.c.status == "approved",
            requests.c.expires_at > now,
        )
        .group_by(orgs.c.id, orgs.c.slug, orgs.c.name)
    )
    rows = (await conn.execute(union_all(to_decide, approved))).all()
    found = [WaitingCount(row.kind, row.slug, row.name, row.waiting) for row in rows]
    return sorted(found, key=lambda w: (w.kind, w.organization_name.lower(), w.organization_slug))
