"""Organizations and their memberships (SPEC §6).

Roles are ``owner``, ``admin`` and ``member``; owners and admins administer
the organization and may connect it to apps. Removing a member, or demoting
one to ``member``, revokes every grant that user gave on the organization.
An organization always keeps at least one owner: membership changes lock the
organization row first, so two concurrent demotions cannot both pass the
"another owner remains" check.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, case, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit, grants
from i18n_connect.errors import ConflictError, InvalidRequest, NotFound
from i18n_connect.ids import new_id
from i18n_connect.storage.tables import memberships, organizations, users

__all__ = [
    "ADMIN_ROLES",
    "ROLES",
    "Member",
    "Organization",
    "add_member",
    "administered_organizations",
    "check_name",
    "check_slug",
    "create_organization",
    "get_organization",
    "get_organization_by_slug",
    "list_members",
    "list_memberships",
    "list_organizations",
    "membership_role",
    "remove_member",
    "set_role",
]

ROLES = ("owner", "admin", "member")
ADMIN_ROLES = ("owner", "admin")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}[a-z0-9]")
_MAX_NAME_LENGTH = 200


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


def check_slug(slug: str, what: str = "slug") -> str:
    """The slug if it is 2-64 lowercase letters, digits and inner hyphens; else `InvalidRequest`."""
    if not _SLUG.fullmatch(slug):
        raise InvalidRequest(
            f"the {what} {slug!r} must be 2-64 lowercase letters, digits or hyphens, "
            "starting and ending with a letter or digit"
        )
    return slug


def check_name(name: str, what: str = "name") -> str:
    """The trimmed display name when it is 1-200 characters; else `InvalidRequest`."""
    trimmed = name.strip()
    if not trimmed or len(trimmed) > _MAX_NAME_LENGTH:
        raise InvalidRequest(f"the {what} must be 1-{_MAX_NAME_LENGTH} characters long")
    return trimmed


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise InvalidRequest(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
    return role


async def create_organization(
    conn: AsyncConnection, *, slug: str, name: str, owner_user_id: str, now: datetime
) -> Organization:
    """Create an organization with its first owner; a taken slug is a `ConflictError`."""
    organization = Organization(
        id=new_id("org"), slug=check_slug(slug), name=check_name(name), created_at=now
    )
    await _require_user(conn, owner_user_id)
    if await get_organization_by_slug(conn, slug) is not None:
        raise ConflictError(f"an organization with the slug {slug!r} already exists")
    try:
        async with conn.begin_nested():
            await conn.execute(
                insert(organizations).values(
                    id=organization.id, slug=slug, name=organization.name, created_at=now
                )
            )
    except IntegrityError as exc:  # a concurrent insert of the same slug won
        raise ConflictError(f"an organization with the slug {slug!r} already exists") from exc
    await conn.execute(
        insert(memberships).values(
            organization_id=organization.id, user_id=owner_user_id, role="owner", created_at=now
        )
    )
    return organization


async def get_organization(conn: AsyncConnection, organization_id: str) -> Organization | None:
    row = (
        await conn.execute(select(*_COLUMNS).where(organizations.c.id == organization_id))
    ).first()
    return _organization(row) if row is not None else None


async def get_organization_by_slug(conn: AsyncConnection, slug: str) -> Organization | None:
    row = (await conn.execute(select(*_COLUMNS).where(organizations.c.slug == slug))).first()
    return _organization(row) if row is not None else None


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


async def membership_role(conn: AsyncConnection, organization_id: str, user_id: str) -> str | None:
    """The user's role in the organization, or ``None`` when not a member."""
    role: str | None = await conn.scalar(
        select(memberships.c.role).where(
            memberships.c.organization_id == organization_id,
            memberships.c.user_id == user_id,
        )
    )
    return role


async def list_members(conn: AsyncConnection, organization_id: str) -> list[Member]:
    """The organization's members: owners first, then admins, then members, each by email."""
    rank = case({role: index for index, role in enumerate(ROLES)}, value=memberships.c.role)
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


async def list_memberships(conn: AsyncConnection, user_id: str) -> list[tuple[Organization, str]]:
    """The user's organizations with their role, by name."""
    rows = await conn.execute(
        select(*_COLUMNS, memberships.c.role)
        .join(memberships, memberships.c.organization_id == organizations.c.id)
        .where(memberships.c.user_id == user_id)
        .order_by(organizations.c.name, organizations.c.slug)
    )
    return [(_organization(row), row.role) for row in rows]


async def administered_organizations(conn: AsyncConnection, user_id: str) -> list[Organization]:
    """The organizations where the user is ``owner`` or ``admin`` (the consent picker's choice)."""
    return [org for org, role in await list_memberships(conn, user_id) if role in ADMIN_ROLES]


async def add_member(
    conn: AsyncConnection,
    *,
    organization_id: str,
    user_id: str,
    role: str,
    now: datetime,
    actor: str = "system",
) -> None:
    """Add a user with a role; an existing member is a `ConflictError` (use `set_role`)."""
    _check_role(role)
    await _lock_organization(conn, organization_id)
    await _require_user(conn, user_id)
    if await membership_role(conn, organization_id, user_id) is not None:
        raise ConflictError("the user is already a member of this organization")
    await conn.execute(
        insert(memberships).values(
            organization_id=organization_id, user_id=user_id, role=role, created_at=now
        )
    )
    await audit.record(
        conn,
        action="membership.added",
        actor=actor,
        now=now,
        user_id=user_id,
        organization_id=organization_id,
        detail={"role": role},
    )


async def set_role(
    conn: AsyncConnection,
    *,
    organization_id: str,
    user_id: str,
    role: str,
    now: datetime,
    actor: str = "system",
) -> None:
    """Change a member's role; demotion to ``member`` revokes the user's grants there."""
    _check_role(role)
    await _lock_organization(conn, organization_id)
    current = await _require_member(conn, organization_id, user_id)
    if current == role:
        return
    if current == "owner":
        await _keep_an_owner(conn, organization_id)
    await conn.execute(
        update(memberships)
        .where(
            memberships.c.organization_id == organization_id,
            memberships.c.user_id == user_id,
        )
        .values(role=role)
    )
    await audit.record(
        conn,
        action="membership.role_changed",
        actor=actor,
        now=now,
        user_id=user_id,
        organization_id=organization_id,
        detail={"from": current, "to": role},
    )
    if role not in ADMIN_ROLES:
        await grants.revoke_user_grants_on_organization(
            conn,
            user_id=user_id,
            organization_id=organization_id,
            actor=actor,
            now=now,
            reason="membership.demoted",
        )


async def remove_member(
    conn: AsyncConnection,
    *,
    organization_id: str,
    user_id: str,
    now: datetime,
    actor: str = "system",
) -> None:
    """Remove a member and revoke every grant the user gave on the organization."""
    await _lock_organization(conn, organization_id)
    current = await _require_member(conn, organization_id, user_id)
    if current == "owner":
        await _keep_an_owner(conn, organization_id)
    await conn.execute(
        delete(memberships).where(
            memberships.c.organization_id == organization_id,
            memberships.c.user_id == user_id,
        )
    )
    await audit.record(
        conn,
        action="membership.removed",
        actor=actor,
        now=now,
        user_id=user_id,
        organization_id=organization_id,
        detail={"role": current},
    )
    await grants.revoke_user_grants_on_organization(
        conn,
        user_id=user_id,
        organization_id=organization_id,
        actor=actor,
        now=now,
        reason="membership.removed",
    )


async def _lock_organization(conn: AsyncConnection, organization_id: str) -> None:
    """Serialize membership changes of one organization (``FOR UPDATE``; SQLite locks anyway)."""
    found = await conn.scalar(
        select(organizations.c.id).where(organizations.c.id == organization_id).with_for_update()
    )
    if found is None:
        raise NotFound("no such organization")


async def _require_user(conn: AsyncConnection, user_id: str) -> None:
    if await conn.scalar(select(users.c.id).where(users.c.id == user_id)) is None:
        raise NotFound("no such user")


async def _require_member(conn: AsyncConnection, organization_id: str, user_id: str) -> str:
    role = await membership_role(conn, organization_id, user_id)
    if role is None:
        raise NotFound("the user is not a member of this organization")
    return role


async def _keep_an_owner(conn: AsyncConnection, organization_id: str) -> None:
    """Refuse a change that would take away the organization's last owner."""
    owners = await conn.scalar(
        select(func.count())
        .select_from(memberships)
        .where(memberships.c.organization_id == organization_id, memberships.c.role == "owner")
    )
    if (owners or 0) <= 1:
        raise ConflictError("an organization must keep at least one owner")
