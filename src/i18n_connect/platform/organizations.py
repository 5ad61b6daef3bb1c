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
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit, grants
from i18n_connect.errors import ConflictError, InvalidRequest, NotFound
from i18n_connect.ids import new_id
from i18n_connect.platform.accounts import get_user
from i18n_connect.storage import organizations as organization_store
from i18n_connect.storage.organizations import Member, Organization

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
    "is_slug",
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


def is_slug(value: str) -> bool:
    """Whether ``value`` is 2-64 lowercase letters, digits and inner hyphens."""
    return _SLUG.fullmatch(value) is not None


def check_slug(slug: str, what: str = "slug") -> str:
    """The slug if it is 2-64 lowercase letters, digits and inner hyphens; else `InvalidRequest`."""
    if not is_slug(slug):
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
    conn: AsyncConnection,
    *,
    slug: str,
    name: str,
    owner_user_id: str,
    now: datetime,
    actor: str = "system",
) -> Organization:
    """Create an organization with its first owner; a taken slug is a `ConflictError`.
    Audited as ``organization.created``, whose user is the first owner (that event is the
    first membership's record)."""
    organization = Organization(
        id=new_id("org"), slug=check_slug(slug), name=check_name(name), created_at=now
    )
    await _require_user(conn, owner_user_id)
    if await get_organization_by_slug(conn, slug) is not None:
        raise ConflictError(f"an organization with the slug {slug!r} already exists")
    if not await organization_store.insert_organization(conn, organization=organization):
        # a concurrent insert of the same slug won
        raise ConflictError(f"an organization with the slug {slug!r} already exists")
    await organization_store.insert_membership(
        conn, organization_id=organization.id, user_id=owner_user_id, role="owner", created_at=now
    )
    await audit.record(
        conn,
        action="organization.created",
        actor=actor,
        now=now,
        user_id=owner_user_id,
        organization_id=organization.id,
        detail={"slug": organization.slug, "name": organization.name, "role": "owner"},
    )
    return organization


async def get_organization(conn: AsyncConnection, organization_id: str) -> Organization | None:
    return await organization_store.get_organization(conn, organization_id=organization_id)


async def get_organization_by_slug(conn: AsyncConnection, slug: str) -> Organization | None:
    return await organization_store.get_organization_by_slug(conn, slug=slug)


async def list_organizations(conn: AsyncConnection) -> list[tuple[Organization, int]]:
    """Every organization with its number of members, by slug."""
    return await organization_store.list_organizations(conn)


async def membership_role(conn: AsyncConnection, organization_id: str, user_id: str) -> str | None:
    """The user's role in the organization, or ``None`` when not a member."""
    return await organization_store.membership_role(
        conn, organization_id=organization_id, user_id=user_id
    )


async def list_members(conn: AsyncConnection, organization_id: str) -> list[Member]:
    """The organization's members: owners first, then admins, then members, each by email."""
    return await organization_store.list_members(
        conn, organization_id=organization_id, roles_by_rank=ROLES
    )


async def list_memberships(conn: AsyncConnection, user_id: str) -> list[tuple[Organization, str]]:
    """The user's organizations with their role, by name."""
    return await organization_store.list_memberships(conn, user_id=user_id)


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
    await organization_store.insert_membership(
        conn, organization_id=organization_id, user_id=user_id, role=role, created_at=now
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
    await organization_store.update_membership_role(
        conn, organization_id=organization_id, user_id=user_id, role=role
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
    await organization_store.delete_membership(
        conn, organization_id=organization_id, user_id=user_id
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
    """Serialize membership changes of one organization (its row is locked)."""
    if not await organization_store.lock_organization(conn, organization_id=organization_id):
        raise NotFound("no such organization")


async def _require_user(conn: AsyncConnection, user_id: str) -> None:
    if await get_user(conn, user_id) is None:
        raise NotFound("no such user")


async def _require_member(conn: AsyncConnection, organization_id: str, user_id: str) -> str:
    role = await membership_role(conn, organization_id, user_id)
    if role is None:
        raise NotFound("the user is not a member of this organization")
    return role


async def _keep_an_owner(conn: AsyncConnection, organization_id: str) -> None:
    """Refuse a change that would take away the organization's last owner."""
    if await organization_store.count_owners(conn, organization_id=organization_id) <= 1:
        raise ConflictError("an organization must keep at least one owner")
