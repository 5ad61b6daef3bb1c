"""Server-rendered HTML pages: one Jinja2 environment (autoescaped) and the render helpers.

Every page template extends ``base.html`` and fills ``{% block content %}``;
optionally ``{% block title %}``, ``{% block page_class %}`` (e.g.
``page--narrow``) and ``{% block head %}`` (a page's own stylesheet).
Undefined variables raise. Two context keys drive the shared header: ``user``
(a signed-in `User`: shows the email and a Sign out form) and ``csrf_token``
(needed by that form); with a user, the header also shows what
`identity.signed_in_user` found waiting (``request.state.waiting``): connection
requests to decide, and the user's approved ones. Errors that must never
redirect — an unknown client or redirect URI at the authorization endpoint, a
failed CSRF check — use `render_error`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from i18n_connect import __version__

__all__ = [
    "PRODUCT_NAME",
    "STATIC_DIR",
    "environment",
    "render",
    "render_error",
    "utc_iso",
    "utc_text",
]

PRODUCT_NAME = "i18n-connect"
_TEMPLATES = Path(__file__).parent / "templates"
STATIC_DIR = Path(__file__).parent / "static"


@cache
def environment() -> Environment:
    """The shared template environment; HTML is escaped unless a template says otherwise."""
    env = Environment(
        loader=FileSystemLoader(_TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(product_name=PRODUCT_NAME, asset_version=__version__)
    env.filters.update(utc_iso=utc_iso, utc_text=utc_text)
    return env


def _as_utc(moment: datetime) -> datetime:
    """Stored times are UTC; SQLite hands them back without a zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def utc_iso(moment: datetime) -> str:
    """``2026-12-03T10:05:00Z``: what ``<time datetime>`` and the browser's ``Date`` read."""
    return _as_utc(moment).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_text(moment: datetime) -> str:
    """``2026-12-03 10:05 UTC``: the text shown before (or without) the local-time script."""
    return _as_utc(moment).strftime("%Y-%m-%d %H:%M UTC")


def render(
    request: Request, template_name: str, context: dict[str, Any], *, status_code: int = 200
) -> HTMLResponse:
    """Render a page; ``user`` and ``csrf_token`` default to none (signed-out header)."""
    page = {
        "request": request,
        "user": None,
        "csrf_token": None,
        "waiting": getattr(request.state, "waiting", None),
        **context,
    }
    html = environment().get_template(template_name).render(page)
    return HTMLResponse(html, status_code=status_code)


def render_error(
    request: Request,
    status: int,
    title: str,
    message: str,
    *,
    headers: dict[str, str] | None = None,
) -> HTMLResponse:
    """An HTML error page with the given status; never a redirect."""
    response = render(
        request,
        "error.html",
        {"status": status, "title": title, "message": message},
        status_code=status,
    )
    response.headers.update(headers or {})
    return response
