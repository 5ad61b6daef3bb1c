"""The ``client_profiles`` and ``client_logos`` tables: the publisher of a console app, what it
declared beyond RFC 7591's metadata, and the logo this site serves for it. The only module that
reads or writes them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.oauth_tables import client_logos, client_profiles

__all__ = [
    "Logo",
    "Profile",
    "clients_of_organizations",
    "delete_logo",
    "get_logo",
    "get_profile",
    "insert_profile",
    "logo_info",
    "put_logo",
    "update_profile",
]


@dataclass(frozen=True, slots=True)
class Profile:
    client_id: str
    organization_id: str
    description: str
    policy_uri: str | None
    tos_uri: str | None
    created_by: str
    created_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class Logo:
    content_type: str
    image: bytes
    digest: str
    source_url: str | None


def _profile(row: Any) -> Profile:
    return Profile(
        client_id=row.client_id,
        organization_id=row.organization_id,
        description=row.description,
        policy_uri=row.policy_uri,
        tos_uri=row.tos_uri,
        created_by=row.created_by,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def insert_profile(conn: AsyncConnection, profile: Profile) -> None:
    await conn.execute(
        insert(client_profiles).values(
            client_id=profile.client_id,
            organization_id=profile.organization_id,
            description=profile.description,
            policy_uri=profile.policy_uri,
            tos_uri=profile.tos_uri,
            created_by=profile.created_by,
            created_at=profile.created_at,
            updated_at=profile.updated_at,
        )
    )


async def get_profile(conn: AsyncConnection, client_id: str) -> Profile | None:
    row = (
        await conn.execute(select(client_profiles).where(client_profiles.c.client_id == client_id))
    ).first()
    return _profile(row) if row is not None else None


async def clients_of_organizations(
    conn: AsyncConnection, organization_ids: list[str]
) -> list[Profile]:
    """The profiles of the apps these organizations publish, oldest first."""
    rows = await conn.execute(
        select(client_profiles)
        .where(client_profiles.c.organization_id.in_(organization_ids))
        .order_by(client_profiles.c.created_at, client_profiles.c.client_id)
    )
    return [_profile(row) for row in rows]


async def update_profile(
    conn: AsyncConnection,
    client_id: str,
    *,
    description: str,
    policy_uri: str | None,
    tos_uri: str | None,
    now: datetime,
) -> None:
    await conn.execute(
        update(client_profiles)
        .where(client_profiles.c.client_id == client_id)
        .values(description=description, policy_uri=policy_uri, tos_uri=tos_uri, updated_at=now)
    )


async def get_logo(conn: AsyncConnection, client_id: str) -> Logo | None:
    row = (
        await conn.execute(
            select(
                client_logos.c.content_type,
                client_logos.c.image,
                client_logos.c.digest,
                client_logos.c.source_url,
            ).where(client_logos.c.client_id == client_id)
        )
    ).first()
    return Logo(row.content_type, bytes(row.image), row.digest, row.source_url) if row else None


async def logo_info(conn: AsyncConnection, client_id: str) -> tuple[str, str | None] | None:
    """The stored logo's digest (its served URL's version) and source URL, without the image."""
    row = (
        await conn.execute(
            select(client_logos.c.digest, client_logos.c.source_url).where(
                client_logos.c.client_id == client_id
            )
        )
    ).first()
    return (row.digest, row.source_url) if row is not None else None


async def put_logo(conn: AsyncConnection, client_id: str, logo: Logo, *, now: datetime) -> None:
    """Store the logo, replacing the one there was."""
    await delete_logo(conn, client_id)
    await conn.execute(
        insert(client_logos).values(
            client_id=client_id,
            content_type=logo.content_type,
            image=logo.image,
            digest=logo.digest,
            source_url=logo.source_url,
            stored_at=now,
        )
    )


async def delete_logo(conn: AsyncConnection, client_id: str) -> None:
    await conn.execute(delete(client_logos).where(client_logos.c.client_id == client_id))
