"""The events a client's endpoints may subscribe to, written to the transactional outbox.

`emit_for_grant` and `emit_for_organization` run inside the transaction of the change they
report, so a committed change is always delivered and a rolled-back one never is. Payloads
follow the Standard Webhooks shape (``type``, ``timestamp``, ``data``) and carry ids only:
never a token, an email address or translated text. A grant's events share its ordering key
(delivered in order); project events are ordered per project.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.ids import new_id
from i18n_connect.storage import grants as grant_store
from i18n_connect.storage import projects as project_store
from i18n_connect.storage import webhooks as stored

__all__ = [
    "EVENT_TYPES",
    "REVOCATION_REASONS",
    "emit_for_grant",
    "emit_for_project",
    "revocation_reason",
]

EVENT_TYPES = (
    "grant.created",
    "grant.updated",
    "grant.revoked",
    "installation_token.revoked",
    "translations.published",
    "keys.changed",
    "content.published",
)
# The cascade's internal reasons (`grants.revoke_grant`) as the reasons partners read.
REVOCATION_REASONS = {
    "connected_apps": "user",
    "connected_apps.admin": "organization_admin",
    "organization_admin": "organization_admin",  # an owner revoked every connection of an app
    "organization_policy": "organization_policy",  # a policy change disallowed the app
    "membership.removed": "membership_removed",
    "membership.demoted": "membership_removed",
    "membership_lost": "membership_removed",
    "partner_api": "partner",
    "reuse": "refresh_token_reuse",
    "code_replay": "refresh_token_reuse",
    "client_deleted": "app_deleted",
    "cli": "operator",
}


def revocation_reason(internal: str) -> str:
    """The published reason of a revocation (``operator`` for any other)."""
    return REVOCATION_REASONS.get(internal, "operator")


async def _write(
    conn: AsyncConnection,
    client_ids: Sequence[str],
    event_type: str,
    data: dict[str, Any],
    *,
    ordering_key: str,
    now: datetime,
) -> None:
    endpoints = await stored.subscribed_endpoints(
        conn, client_ids=client_ids, event_type=event_type
    )
    events: dict[str, str] = {}
    for client_id, endpoint_id in endpoints:
        if client_id not in events:
            events[client_id] = new_id("msg")
            payload = {"type": event_type, "timestamp": now.isoformat(), "data": data}
            await stored.insert_event(
                conn,
                event_id=events[client_id],
                client_id=client_id,
                event_type=event_type,
                payload=json.dumps(payload, separators=(",", ":")),
                now=now,
            )
        await stored.insert_delivery(
            conn,
            delivery_id=new_id("whd"),
            event_id=events[client_id],
            endpoint_id=endpoint_id,
            ordering_key=ordering_key,
            now=now,
        )


async def emit_for_grant(
    conn: AsyncConnection,
    event_type: str,
    *,
    client_id: str,
    grant_id: str,
    organization_id: str,
    now: datetime,
    **data: Any,
) -> None:
    """Write an event about one grant for its client's endpoints (ordered per grant)."""
    body = {"grant_id": grant_id, "organization_id": organization_id, **data}
    await _write(conn, [client_id], event_type, body, ordering_key=grant_id, now=now)


async def emit_for_project(
    conn: AsyncConnection, event_type: str, *, project_id: str, now: datetime, **data: Any
) -> None:
    """Write a project event for every client with a live grant on its organization that
    covers the project (all projects, or a choice that includes it)."""
    project = await project_store.get_project(conn, project_id=project_id)
    if project is None:
        return
    clients = await grant_store.clients_granted_on(
        conn, organization_id=project.organization_id, project_id=project_id
    )
    if not clients:
        return
    body = {"organization_id": project.organization_id, "project_id": project_id, **data}
    await _write(conn, clients, event_type, body, ordering_key=project_id, now=now)
