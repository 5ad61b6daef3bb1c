"""What the consent screen and Connected apps show of an app's publisher (issue #14): the
publishing organization, the logo this site stores for it, the homepage's domain, and whether an
operator verified it (``i18n-connect clients verify``).

Only console apps have a publisher: an organization on this site whose owner or admin created
the app. A self-registered client's declared homepage and logo are not shown — anyone can
declare any (RFC 7591 §5) — and it keeps the Unverified mark.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.oauth.clients import Client
from i18n_connect.platform.organizations import get_organization
from i18n_connect.storage import client_profiles

__all__ = ["Publisher", "logo_path", "publisher_of"]


@dataclass(frozen=True, slots=True)
class Publisher:
    organization_name: str
    homepage_domain: str | None
    logo_url: str | None  # a path on this site
    verified: bool


def logo_path(client_id: str, digest: str) -> str:
    """Where this site serves the app's logo; the digest makes a new logo a new URL."""
    return f"/app-logos/{quote(client_id, safe='')}?v={digest[:16]}"


async def publisher_of(conn: AsyncConnection, client: Client) -> Publisher | None:
    """The publisher of a console app; ``None`` for any other client."""
    profile = await client_profiles.get_profile(conn, client.id)
    if profile is None:
        return None
    organization = await get_organization(conn, profile.organization_id)
    if organization is None:
        return None
    logo = await client_profiles.logo_info(conn, client.id)
    return Publisher(
        organization_name=organization.name,
        homepage_domain=urlsplit(client.client_uri).hostname if client.client_uri else None,
        logo_url=logo_path(client.id, logo[0]) if logo is not None else None,
        verified=client.verified,
    )
