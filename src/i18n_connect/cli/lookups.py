"""The organization or user a command names by slug or email, or `NotFound`."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import NotFound
from i18n_connect.platform import accounts
from i18n_connect.platform import organizations as orgs

__all__ = ["organization_by_slug", "user_by_email"]


async def organization_by_slug(conn: AsyncConnection, slug: str) -> orgs.Organization:
    organization = await orgs.get_organization_by_slug(conn, slug)
    if organization is None:
        raise NotFound(f"no organization with the slug {slug!r}")
    return organization


async def user_by_email(conn: AsyncConnection, email: str) -> accounts.User:
    user = await accounts.get_user_by_email(conn, email)
    if user is None:
        raise NotFound(f"no user with the email {accounts.normalize_email(email)}")
    return user
