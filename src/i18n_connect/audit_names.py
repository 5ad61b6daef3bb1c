"""Readable names for the ids an audit event mentions (SPEC §6 "Audit trail"): a user's email,
an app's name (a deleted app's too), an organization's slug, a project's name — for ``audit
tail`` and the organization's audit page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.audit import AuditEvent
from i18n_connect.platform.accounts import get_user
from i18n_connect.platform.organizations import get_organization
from i18n_connect.platform.projects import get_project
from i18n_connect.storage.clients import client_name

__all__ = ["PROJECT_FIELDS", "named_detail", "names_of"]

# The detail fields that hold project ids (grant.consented, grant.updated).
PROJECT_FIELDS = ("project_ids", "previous_project_ids")


def _project_ids(event: AuditEvent) -> set[str]:
    found: set[str] = set()
    for field in PROJECT_FIELDS:
        value = event.detail.get(field)
        if isinstance(value, list):
            found.update(item for item in value if isinstance(item, str))
    return found


async def names_of(conn: AsyncConnection, events: Iterable[AuditEvent]) -> dict[str, str]:
    """A readable name for every id the events mention: a user's email, an app's name, an
    organization's slug, a project's name; an id that is gone (or a client id as actor) names
    itself."""
    names: dict[str, str] = {}
    for event in events:
        for user_id in {event.user_id, event.actor} - {None} - names.keys():
            user = await get_user(conn, user_id or "")
            if user is not None:
                names[user.id] = user.email
        if event.client_id and event.client_id not in names:
            name = await client_name(conn, event.client_id)
            names[event.client_id] = name if name is not None else event.client_id
        if event.organization_id and event.organization_id not in names:
            organization = await get_organization(conn, event.organization_id)
            names[event.organization_id] = (
                organization.slug if organization is not None else event.organization_id
            )
        for project_id in _project_ids(event) - names.keys():
            project = await get_project(conn, project_id)
            names[project_id] = project.name if project is not None else project_id
    return names


def named_detail(detail: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """``detail`` with the project ids of `PROJECT_FIELDS` replaced by their names (what the
    text of ``audit tail`` and the audit page show; ``--json`` and the exports keep the ids)."""
    return {
        key: (
            [names.get(item, item) if isinstance(item, str) else item for item in value]
            if key in PROJECT_FIELDS and isinstance(value, list)
            else value
        )
        for key, value in detail.items()
    }
