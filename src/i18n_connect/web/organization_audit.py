"""``/orgs/{slug}/audit`` (SPEC §6 "Audit trail"): every event of one organization for its
owners and admins, with names (app, user, organization, project) rather than ids, filtered by
app, actor, action and time, and exported as CSV or JSON Lines (``?format=csv|jsonl``, ids and
names both: ``detail`` keeps the ids, ``detail_named`` names the projects). Anyone else gets
the 404 of an unknown organization; a malformed filter is 400.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from i18n_connect import audit
from i18n_connect.audit import AuditEvent
from i18n_connect.audit_names import named_detail, names_of
from i18n_connect.web.organization_policy import page_url, viewer_of
from i18n_connect.web.sessions import csrf_token, services_of, set_session_cookie
from i18n_connect.web.templates import render, render_error, utc_iso

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_LIMIT = 500
_CHOICES_FROM = 2000  # the newest events the filter menus are built from
_MAX_FILTER = 512
_FILTERS = ("app", "actor", "action", "since", "until")


class _BadFilter(ValueError):
    pass


def _day(value: str, name: str) -> datetime:
    try:
        return datetime.strptime(value, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError as exc:
        raise _BadFilter(f"The {name} date must look like 2026-12-31.") from exc


def _filters(request: Request) -> dict[str, str]:
    found = {}
    for name in _FILTERS:
        values = request.query_params.getlist(name)
        if len(values) > 1 or any(len(value) > _MAX_FILTER for value in values):
            raise _BadFilter(f"Give at most one {name}.")
        if values and values[0]:
            found[name] = values[0]
    return found


def _row(event: AuditEvent, names: dict[str, str]) -> dict[str, Any]:
    """One event with its ids and their names, as the exports carry it."""
    return {
        "occurred_at": utc_iso(event.occurred_at),
        "action": event.action,
        "actor": event.actor,
        "actor_name": names.get(event.actor, event.actor),
        "user_id": event.user_id,
        "user": names.get(event.user_id or "", event.user_id),
        "client_id": event.client_id,
        "app": names.get(event.client_id or "", event.client_id),
        "grant_id": event.grant_id,
        "detail": event.detail,
        "detail_named": named_detail(event.detail, names),
    }


def _export(rows: list[dict[str, Any]], kind: str, slug: str) -> Response:
    filename = f"{slug}-audit.{kind}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    if kind == "jsonl":
        body = "".join(json.dumps(row, sort_keys=True) + "\n" for row in rows)
        return Response(body, media_type="application/x-ndjson", headers=headers)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else ["occurred_at"])
    writer.writeheader()
    for row in rows:
        writer.writerow(
            {
                **row,
                "detail": json.dumps(row["detail"], sort_keys=True),
                "detail_named": json.dumps(row["detail_named"], sort_keys=True),
            }
        )
    return Response(out.getvalue(), media_type="text/csv; charset=utf-8", headers=headers)


@router.get("/orgs/{slug}/audit")
async def audit_page(request: Request, slug: str) -> Response:
    """The organization's events, newest first, filtered as asked; or their export."""
    kind = request.query_params.get("format", "html")
    if kind not in ("html", "csv", "jsonl"):
        return render_error(request, 400, "Unknown format", "Use format=csv or format=jsonl.")
    async with services_of(request).db.transaction(readonly=True) as conn:
        viewer = await viewer_of(request, conn, slug)
        if isinstance(viewer, Response):
            return viewer
        try:
            chosen = _filters(request)
            since = _day(chosen["since"], "from") if "since" in chosen else None
            until = _day(chosen["until"], "to") + timedelta(days=1) if "until" in chosen else None
        except _BadFilter as exc:
            return render_error(request, 400, "This filter cannot be used", str(exc))
        organization = viewer.organization
        events = await audit.search(
            conn,
            organization_id=organization.id,
            limit=_LIMIT,
            client_id=chosen.get("app"),
            actor=chosen.get("actor"),
            action=chosen.get("action"),
            since=since,
            until=until,
        )
        menu_events = await audit.search(conn, organization_id=organization.id, limit=_CHOICES_FROM)
        names = await names_of(conn, [*events, *menu_events])
    rows = [_row(event, names) for event in events]
    if kind != "html":
        return _export(rows, kind, organization.slug)
    response = render(
        request,
        "organization_audit.html",
        {
            "user": viewer.user,
            "csrf_token": csrf_token(request, viewer.session),
            "organization": organization,
            "events": [(event, named_detail(event.detail, names)) for event in events],
            "names": names,
            "chosen": chosen,
            "apps": sorted(
                {e.client_id for e in menu_events if e.client_id}, key=lambda c: names.get(c, c)
            ),
            "actors": sorted({e.actor for e in menu_events}, key=lambda a: names.get(a, a)),
            "actions": sorted({e.action for e in menu_events}),
            "limit": _LIMIT,
            "policy_url": page_url(organization),
            "query": request.url.query,
        },
    )
    set_session_cookie(request, response, viewer.session)
    return response
