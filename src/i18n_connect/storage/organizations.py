"""The ``organizations`` and ``memberships`` tables: the only module that reads or writes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Row,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.statements import Statement
from i18n_connect.storage.tables import memberships, organizations, users
from i18n_connect.storage.unique import insert_unique

__all__ = [
    "Member",
    "Organization",
    "count_owners",
    "delete_membership",
    "get_organization",
    "get_organization_by_slug",
    "insert_membership",
    "insert_organization",
    "list_members",
    "list_memberships",
    "list_organizations",
    "lock_organization",
    "membership_role",
    "organizations_by_id",
    "update_membership_role",
]


@dataclass(frozen=True, slots=True)
class Organization:
    id: str
    slug: str
    name: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Member:
    user_id: str
    email: str
    name: str
    role: str
    joined_at: datetime


_COLUMNS = (
    organizations.c.id,
    organizations.c.slug,
    organizations.c.name,
    organizations.c.created_at,
)


def _organization(row: Row[*tuple[Any, ...]]) -> Organization:
    return Organization(id=row.id, slug=row.slug, name=row.name, created_at=row.created_at)


def _membership(organization_id: str, user_id: str) -> ColumnElement[bool]:
    return and_(memberships.c.organization_id == organization_id, memberships.c.user_id == user_id)


async def insert_organization(conn: AsyncConnection, *, organization: Organization) -> bool:
    """Insert an organization; ``False`` when its slug is taken."""
    return await insert_unique(
        conn,
        insert(organizations).values(
            id=organization.id,
            slug=organization.slug,
            name=organization.name,
            created_at=organization.created_at,
        ),
    )


# Every partner-API call and MCP tool looks its organization up: inline statements.
_ORGANIZATION_BY_ID = Statement(select(*_COLUMNS).where(organizations.c.id == bindparam("id")))
_ORGANIZATION_BY_SLUG = Statement(
    select(*_COLUMNS).where(organizations.c.slug == bindparam("slug"))
)


async def get_organization(conn: AsyncConnection, *, organization_id: str) -> Organization | None:
    row = await _ORGANIZATION_BY_ID.first(conn, id=organization_id)
    return _organization(row) if row is not None else None


async def get_organization_by_slug(conn: AsyncConnection, *, slug: str) -> Organization | None:
    row = await _ORGANIZATION_BY_SLUG.first(conn, slug=slug)
    return _organization(row) if row is not None else None


async def organizations_by_id(
    conn: AsyncConnection, *, organization_ids: Sequence[str]
) -> dict[str, Organization]:
    """The organizations among ``organization_ids`` that exist, by id."""
    rows = await conn.execute(select(*_COLUMNS).where(organizations.c.id.in_(organization_ids)))
    return {row.id: _organization(row) for row in rows}


async def lock_organization(conn: AsyncConnection, *, organization_id: str) -> bool:
    """Lock the organization's row (``FOR UPDATE``; SQLite locks anyway); ``False`` if absent."""
    found = await conn.scalar(
        select(organizations.c.id).where(organizations.c.id == organization_id).with_for_update()
    )
    return found is not None


async def list_organizations(conn: AsyncConnection) -> list[tuple[Organization, int]]:
    """Every organization with its number of members, by slug."""
    count = func.count(memberships.c.user_id).label("members")
    rows = await conn.execute(
        select(*_COLUMNS, count)
        .select_from(organizations.outerjoin(memberships))
        .group_by(*_COLUMNS)
        .order_by(organizations.c.slug)
    )
    return [(_organization(row), int(row.members)) for row in rows]


async def membership_role(
    conn: AsyncConnection, *, organization_id: str, user_id: str
) -> str | None:
    """The user's role in the organization, or ``None`` when not a member."""
    role: str | None = await conn.scalar(
        select(memberships.c.role).where(_membership(organization_id, user_id))
    )
    return role


async def list_members(
    conn: AsyncConnection, *, organization_id: str, roles_by_rank: Sequence[str]
) -> list[Member]:
    """The organization's members ordered by ``roles_by_rank``, then by email."""
    rank = case({role: index for index, role in enumerate(roles_by_rank)}, value=memberships.c.role)
    rows = await conn.execute(
        select(
            users.c.id, users.c.email, users.c.name, memberships.c.role, memberships.c.created_at
        )
        .join(memberships, memberships.c.user_id == users.c.id)
        .where(memberships.c.organization_id == organization_id)
        .order_by(rank, users.c.email)
    )
    return [
        Member(
            user_id=row.id, email=row.email, name=row.name, role=row.role, joined_at=row.created_at
        )
        for row in rows
    ]


async def list_memberships(
    conn: AsyncConnection, *, user_id: str
) -> list[tuple[Organization, str]]:
    """The user's organizations with their role, by name."""
    rows = await conn.execute(
        select(*_COLUMNS, memberships.c.role)
        .join(memberships, memberships.c.organization_id == organizations.c.id)
        .where(memberships.c.user_id == user_id)
        .order_by(organizations.c.name, organizations.c.slug)
    )
    return [(_organization(row), row.role) for row in rows]


async def count_owners(conn: AsyncConnection, *, organization_id: str) -> int:
    owners = await conn.scalar(
        select(func.count())
        .select_from(memberships)
        .where(memberships.c.organization_id == organization_id, memberships.c.role == "owner")
    )
    return int(owners or 0)


async def insert_membership(
    conn: AsyncConnection, *, organization_id: str, user_id: str, role: str, created_at: datetime
) -> None:
    await conn.execute(
        insert(memberships).values(
            organization_id=organization_id, user_id=user_id, role=role, created_at=created_at
        )
    )


async def update_membership_role(
    conn: AsyncConnection, *, organization_id: str, user_id: str, role: str
) -> None:
    await conn.execute(
        update(memberships).where(_membership(organization_id, user_id)).values(role=role)
    )


async def delete_membership(conn: AsyncConnection, *, organization_id: str, user_id: str) -> None:
    await conn.execute(delete(memberships).where(_membership(organization_id, user_id)))
