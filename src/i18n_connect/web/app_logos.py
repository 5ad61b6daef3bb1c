"""``/app-logos/{client_id}``: the logo this site stores for a console app, served from its own
origin so that the consent page never loads a partner's server (issue #14).

The content type is the one the image's bytes showed when it was stored (PNG, JPEG or WebP),
with ``X-Content-Type-Options: nosniff`` and a ``Content-Security-Policy`` that lets the
response run nothing even when opened on its own. The URL carries the image's digest (``?v=``),
so it may be cached for a day.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from i18n_connect.oauth.clients import get_client
from i18n_connect.storage import client_profiles
from i18n_connect.web.sessions import services_of
from i18n_connect.web.templates import render_error

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'; sandbox",
    "Content-Disposition": 'inline; filename="logo"',
    "Cache-Control": "public, max-age=86400",
    "Cross-Origin-Resource-Policy": "same-origin",
}


@router.get("/app-logos/{client_id}")
async def app_logo(request: Request, client_id: str) -> Response:
    async with services_of(request).db.transaction(readonly=True) as conn:
        live = await get_client(conn, client_id) is not None  # a deleted app shows no logo
        logo = await client_profiles.get_logo(conn, client_id) if live else None
    if logo is None:
        return render_error(request, 404, "Not found", "This app has no logo.")
    return Response(logo.image, media_type=logo.content_type, headers=_HEADERS)
