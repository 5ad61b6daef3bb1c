"""``i18n-connect audit``: reading the audit log."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from i18n_connect import audit
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
    changes. Events never contain secrets.

    Example: i18n-connect audit tail --org acme --limit 50 --json
    """

    async def work(services: Services) -> list[audit.AuditEvent]:
        async with services.db.transaction(readonly=True) as conn:
            org_id = (await organization_by_slug(conn, org)).id if org else None
            return await audit.recent(conn, limit=limit, grant_id=grant, organization_id=org_id)

    events = run_async(work)
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
    lines = [
        f"{r['occurred_at']}  {r['action']:<28} actor={r['actor']}"
        + "".join(f" {name}={r[name]}" for name in ("grant_id", "organization_id") if r[name])
        + (f" {json.dumps(r['detail'], sort_keys=True)}" if r["detail"] else "")
        for r in rows
    ]
    emit({"events": rows}, as_json, "\n".join(lines) if rows else "no audit events")
