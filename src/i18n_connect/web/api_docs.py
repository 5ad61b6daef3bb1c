"""``/docs``: the partner API explorer (Swagger UI), served from this package's static files.

Nothing is loaded from a CDN, so the page works offline and under a CSP that allows
this site only (`security.DOCS_CONTENT_SECURITY_POLICY`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from i18n_connect.web.templates import render

__all__ = ["DOCS_PATH", "router"]

DOCS_PATH = "/docs"
router = APIRouter(include_in_schema=False)


@router.get(DOCS_PATH)
async def api_docs(request: Request) -> HTMLResponse:
    """The Swagger UI page for the app's OpenAPI document."""
    app = request.app
    return render(
        request, "api_docs.html", {"title": app.title, "openapi_url": app.openapi_url or ""}
    )
