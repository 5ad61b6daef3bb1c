"""``i18n-connect audit``: reading the audit log."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from i18n_connect import audit
from i18n_connect.audit_names import named_detail, names_of
from i18n_connect.cli.lookups import organization_by_slug
from i18n_connect.cli.output import JsonOption, emit, iso
from i18n_connect.cli.runner import run_async
from i18n_connect.services import Services

__all__ = ["group"]

group = typer.Typer(help="The audit log.", no_args_is_help=True)


@group.command("tail")
def audit_tail(
    grant: Annotated[str | None, typer.Option("--grant", help="Only this grant (grt_...).")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Only this organization (slug).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many events.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Print the newest audit events, oldest first: consents, mints, revocations, membership
    changes, policy changes, requests. Events never contain secrets. The text names users by
    email, apps (deleted ones too) by name, organizations by slug and projects by name;
    ``--json`` keeps the ids.

    Example: i18n-connect audit tail --org acme --limit 50 --json
    """

    async def work(services: Services) -> tuple[list[audit.AuditEvent], dict[str, str]]:
        async with services.db.transaction(readonly=True) as conn:
            org_id = (await organization_by_slug(conn, org)).id if org else None
            found = await audit.recent(conn, limit=limit, grant_id=grant, organization_id=org_id)
            return found, await names_of(conn, found)

    events, names = run_async(work)
    rows = [
        {
            "id": event.id,
            "occurred_at": iso(event.occurred_at),
            "action": event.action,
            "actor": event.actor,
            "user_id": event.user_id,
            "client_id": event.client_id,
            "organization_id": event.organization_id,
            "grant_id": event.grant_id,
            "detail": event.detail,
        }
        for event in events
    ]
    lines = [_line(event, names) for event in events]
    emit({"events": rows}, as_json, "\n".join(lines) if rows else "no audit events")


def _line(event: audit.AuditEvent, names: dict[str, str]) -> str:
    """One event as text, with names where the ids are known."""
    line = f"{iso(event.occurred_at)}  {event.action:<28} actor={_quoted(event.actor, names)}"
    for label, value in (
        ("user", event.user_id),
        ("app", event.client_id),
        ("organization", event.organization_id),
    ):
        if value:
            line += f" {label}={_quoted(value, names)}"
    if event.grant_id:
        line += f" grant_id={event.grant_id}"
    detail = named_detail(event.detail, names)
    return line + (f" {json.dumps(detail, sort_keys=True)}" if detail else "")


def _quoted(value: str, names: dict[str, str]) -> str:
    return json.dumps(names.get(value, value))
