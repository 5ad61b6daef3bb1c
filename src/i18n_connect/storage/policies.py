"""The ``organization_policies`` and ``organization_app_lists`` tables: the only module that reads
or writes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.tables import organization_app_lists, organization_policies
from i18n_connect.storage.unique import insert_unique

__all__ = [
    "ListedApp",
    "StoredPolicy",
    "add_to_list",
    "get_policy",
    "listed_apps",
    "remove_from_list",
    "save_policy",
]


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    connect_roles: str
    allowed_apps: str
    updated_at: datetime
    updated_by: str


@dataclass(frozen=True, slots=True)
class ListedApp:
    list: str  # approved | blocked
    client_id: str
    added_at: datetime
    added_by: str


async def get_policy(conn: AsyncConnection, *, organization_id: str) -> StoredPolicy | None:
    row = (
        await conn.execute(
            select(organization_policies).where(
                organization_policies.c.organization_id == organization_id
            )
        )
    ).first()
    if row is None:
        return None
    return StoredPolicy(
        connect_roles=row.connect_roles,
        allowed_apps=row.allowed_apps,
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


async def save_policy(
    conn: AsyncConnection,
    *,
    organization_id: str,
    connect_roles: str,
    allowed_apps: str,
    now: datetime,
    actor: str,
) -> None:
    """Insert or replace the organization's policy (the caller holds the organization's lock)."""
    values = {
        "connect_roles": connect_roles,
        "allowed_apps": allowed_apps,
        "updated_at": now,
        "updated_by": actor,
    }
    changed = await conn.execute(
        update(organization_policies)
        .where(organization_policies.c.organization_id == organization_id)
        .values(**values)
    )
    if not changed.rowcount:
        await conn.execute(
            insert(organization_policies).values(organization_id=organization_id, **values)
        )


async def listed_apps(conn: AsyncConnection, *, organization_id: str) -> list[ListedApp]:
    """The organization's approved and blocked apps, oldest first."""
    rows = await conn.execute(
        select(organization_app_lists)
        .where(organization_app_lists.c.organization_id == organization_id)
        .order_by(organization_app_lists.c.added_at, organization_app_lists.c.client_id)
    )
    return [
        ListedApp(
            list=row.list, client_id=row.client_id, added_at=row.added_at, added_by=row.added_by
        )
        for row in rows
    ]


async def add_to_list(
    conn: AsyncConnection,
    *,
    organization_id: str,
    list_name: str,
    client_id: str,
    now: datetime,
    actor: str,
) -> bool:
    """Put the app on the list; ``False`` when it already is."""
    return await insert_unique(
        conn,
        insert(organization_app_lists).values(
            organization_id=organization_id,
            list=list_name,
            client_id=client_id,
            added_at=now,
            added_by=actor,
        ),
    )


async def remove_from_list(
    conn: AsyncConnection, *, organization_id: str, list_name: str, client_id: str
) -> bool:
    """Take the app off the list; ``False`` when it was not on it."""
    result = await conn.execute(
        delete(organization_app_lists).where(
            and_(
                organization_app_lists.c.organization_id == organization_id,
                organization_app_lists.c.list == list_name,
                organization_app_lists.c.client_id == client_id,
            )
        )
    )
    return bool(result.rowcount)
