"""Asking to connect an app, and deciding on it (SPEC §6 "Requests").

``POST /api/auth/mcp/consent/ask`` comes from the consent screen: the member asks
the owners of one organization the page showed as "ask an owner" (named by its
slug) for the app of the session's pending authorization request.
``POST /orgs/{slug}/requests/{id}/approve`` (or ``/decline``) comes from the
organization's App policy page. Both check the session's CSRF token (403); an
organization the page did not offer is 400, a request of another organization
or a stranger's view of it 404, a decided or expired one 409; nothing is
written then.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Request
from fastapi.responses import RedirectResponse, Response

from i18n_connect.errors import AccessDenied, ConflictError, InvalidRequest, NotFound
from i18n_connect.oauth import consent
from i18n_connect.oauth.consent import ConsentRefused
from i18n_connect.platform import connection_requests
from i18n_connect.web.identity import login_redirect, signed_in_user
from i18n_connect.web.organization_policy import form_of, page_url, viewer_of
from i18n_connect.web.sessions import csrf_valid, services_of
from i18n_connect.web.templates import render_error

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


def _single(form: dict[str, list[str]], name: str) -> str | None:
    values = form.get(name, [])
    return values[0] if len(values) == 1 else None


@router.post("/api/auth/mcp/consent/ask")
async def ask(request: Request) -> Response:
    """Ask the owners of one organization to let the user connect the pending request's app."""
    services = services_of(request)
    form = await form_of(request)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        session, user = await signed_in_user(request, conn)
        if not csrf_valid(request, session, _single(form, "csrf_token")):
            return render_error(request, 403, "This form has expired", "Reload the page.")
        if user is None:
            return login_redirect(request)
        try:
            pending = await consent.load_pending(
                conn, _single(form, "request_id"), session_hash=session.sid_hash, now=now
            )
            view = await consent.consent_view(conn, pending, user.id, now)
        except ConsentRefused as exc:
            return render_error(request, 400, "This request cannot be sent", exc.message)
        slug = _single(form, "organization")
        organization_id = next((org.id for org, _ in view.unavailable if org.slug == slug), "")
        if organization_id not in view.requestable or organization_id in view.asked:
            return render_error(
                request, 400, "This request cannot be sent", "The page did not offer it."
            )
        try:
            await connection_requests.ask(
                conn,
                organization_id=organization_id,
                client=view.client,
                user_id=user.id,
                role=view.roles[organization_id],
                note=_single(form, "note") or "",
                now=now,
            )
        except (InvalidRequest, ConflictError) as exc:
            return render_error(request, exc.status, "This request cannot be sent", exc.description)
    return RedirectResponse(
        f"/api/auth/mcp/consent?request_id={quote(pending.id, safe='')}", status_code=303
    )


@router.post("/orgs/{slug}/requests/{request_id}/{decision}")
async def decide(
    request: Request,
    slug: str,
    request_id: Annotated[str, Path(max_length=64)],
    decision: str,
) -> Response:
    """Approve or decline a member's pending request."""
    services = services_of(request)
    form = await form_of(request)
    if decision not in ("approve", "decline"):
        return render_error(request, 404, "Not found", "No such page.")
    async with services.db.transaction() as conn:
        viewer = await viewer_of(request, conn, slug)
        if isinstance(viewer, Response):
            return viewer
        if not csrf_valid(request, viewer.session, _single(form, "csrf_token")):
            return render_error(request, 403, "This form has expired", "Reload the page.")
        try:
            await connection_requests.decide(
                conn,
                organization_id=viewer.organization.id,
                request_id=request_id,
                approve=decision == "approve",
                actor=viewer.user.id,
                actor_role=viewer.role,
                now=services.clock.now(),
            )
        except (NotFound, AccessDenied, ConflictError) as exc:
            return render_error(request, exc.status, "The request was not decided", exc.description)
    return RedirectResponse(f"{page_url(viewer.organization)}?decided", status_code=303)
