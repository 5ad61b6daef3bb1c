"""Readable names for the ids an audit event mentions (SPEC §6 "Audit trail"): a user's email,
an app's name, an organization's slug — for ``audit tail`` and the organization's audit page."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.audit import AuditEvent
from i18n_connect.oauth.clients import get_client
from i18n_connect.platform.accounts import get_user
from i18n_connect.platform.organizations import get_organization

__all__ = ["names_of"]


async def names_of(conn: AsyncConnection, events: Iterable[AuditEvent]) -> dict[str, str]:
    """A readable name for every id the events mention: a user's email, an app's name, an
    organization's slug; an id that is gone (or a client id as actor) names itself."""
    names: dict[str, str] = {}
    for event in events:
        for user_id in {event.user_id, event.actor} - {None} - names.keys():
            user = await get_user(conn, user_id or "")
            if user is not None:
                names[user.id] = user.email
        if event.client_id and event.client_id not in names:
            client = await get_client(conn, event.client_id)
            names[event.client_id] = client.name if client is not None else event.client_id
        if event.organization_id and event.organization_id not in names:
            organization = await get_organization(conn, event.organization_id)
            names[event.organization_id] = (
                organization.slug if organization is not None else event.organization_id
            )
    return names
