"""The app page's two irreversible actions (issue #14): rotating a confidential app's secret —
the new one is shown once, the old one stays accepted for the grace period the publisher chose
(at most 7 days) — and deleting the app after its name was typed, which revokes every grant
(`oauth.client_lifecycle.delete_client`: its tokens answer 410 on the next request)."""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from i18n_connect.developer import apps as console
from i18n_connect.developer.apps import AppNotFound
from i18n_connect.errors import NotFound, ProtocolError
from i18n_connect.web.developer_console import (
    APPS,
    after_change,
    app_page,
    form_text,
    posted_by_manager,
    refused,
)
from i18n_connect.web.sessions import services_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


@router.post(APPS + "/{client_id}/rotate-secret")
async def rotate_secret(request: Request, client_id: str) -> Response:
    services = services_of(request)
    form = await request.form(max_files=0, max_fields=10)
    async with services.db.transaction() as conn:
        posted = await posted_by_manager(request, conn, form, client_id, "Secret not rotated")
        if isinstance(posted, Response):
            return posted
        session, user, app = posted
        installations = await console.installations(conn, client_id)
        try:
            grace = console.parse_grace(form_text(form, "grace_hours"))
            rotated = await console.rotate_secret(
                conn,
                app,
                grace=grace,
                user_id=user.id,
                now=services.clock.now(),
                hasher=services.hasher,
            )
        except (ValueError, ProtocolError) as exc:
            message = exc.description if isinstance(exc, ProtocolError) else str(exc)
            return app_page(
                request, session, user, app, installations, status=400, errors={"grace": message}
            )
    return after_change(request, session, client_id, "rotated", rotated.secret)


@router.post(APPS + "/{client_id}/delete")
async def delete_app(request: Request, client_id: str) -> Response:
    services = services_of(request)
    form = await request.form(max_files=0, max_fields=10)
    confirmation = form_text(form, "confirm_name")
    async with services.db.transaction() as conn:
        posted = await posted_by_manager(request, conn, form, client_id, "App not deleted")
        if isinstance(posted, Response):
            return posted
        session, user, app = posted
        try:
            await console.delete_app(
                conn, app, confirmation=confirmation, user_id=user.id, now=services.clock.now()
            )
        except NotFound:  # a concurrent deletion came first
            return refused(request, AppNotFound(client_id))
        except ValueError as exc:
            installations = await console.installations(conn, client_id)
            return app_page(
                request,
                session,
                user,
                app,
                installations,
                status=400,
                errors={"confirm_name": str(exc)},
                confirm_name=confirmation,
            )
    return RedirectResponse(f"{APPS}?deleted={quote(client_id, safe='')}", status_code=303)
