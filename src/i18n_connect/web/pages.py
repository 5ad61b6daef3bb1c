"""The signed-in web pages: login, logout and the home page (SPEC §6).

Login answers every wrong email or password with the same 401 page and the
same amount of work. Attempts are throttled by `login_throttle`: an address
that failed too often is refused (429 with ``Retry-After``) before the password
is checked; an account under attack from many addresses is only slowed down,
never refused to an address that has not failed.

Reached from an authorization link (``next`` is the authorize URL), the page
names the app that asks, as "Sign in to continue to …": only a client
registered here whose redirect URI in ``next`` is registered too, by its stored
name; anything else shows the plain page and echoes nothing from ``next``.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import structlog
from anyio import sleep
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.oauth.clients import Client, get_client, redirect_uri_matches
from i18n_connect.platform.accounts import authenticate
from i18n_connect.platform.organizations import list_memberships
from i18n_connect.platform.projects import list_projects
from i18n_connect.web.authorize_routes import AUTHORIZE_PATH
from i18n_connect.web.identity import client_address, safe_next, signed_in_user
from i18n_connect.web.login_throttle import LoginThrottle
from i18n_connect.web.sessions import (
    BrowserSession,
    csrf_token,
    csrf_valid,
    current_session,
    end_session,
    services_of,
    set_session_cookie,
    sign_in,
)
from i18n_connect.web.templates import render, render_error

__all__ = ["router"]

router = APIRouter(include_in_schema=False)
_log = structlog.get_logger("i18n_connect.login")

WRONG_CREDENTIALS = "Wrong email or password."
_FORM_EXPIRED = "This form has expired. Please try again."


async def asking_app(conn: AsyncConnection, next_path: str) -> Client | None:
    """The registered client whose authorization request ``next_path`` is, if its redirect URI
    is registered too; ``None`` for any other path (nothing is fetched from elsewhere)."""
    parts = urlsplit(next_path)
    if parts.path != AUTHORIZE_PATH:
        return None
    query = parse_qs(parts.query)
    client_ids, redirect_uris = query.get("client_id", []), query.get("redirect_uri", [])
    if len(client_ids) != 1 or len(redirect_uris) != 1:
        return None
    client = await get_client(conn, client_ids[0])
    if client is None or not redirect_uri_matches(client.redirect_uris, redirect_uris[0]):
        return None
    return client


def _login_page(
    request: Request,
    session: BrowserSession,
    *,
    next_path: str,
    app: Client | None,
    email: str = "",
    error: str | None = None,
    status_code: int = 200,
) -> HTMLResponse:
    response = render(
        request,
        "login.html",
        {
            "csrf_token": csrf_token(request, session),
            "next": next_path,
            "app": app,
            "email": email,
            "error": error,
        },
        status_code=status_code,
    )
    set_session_cookie(request, response, session)
    return response


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    """The sign-in form; a signed-in visitor goes straight on to ``next``."""
    next_path = safe_next(next)
    async with services_of(request).db.transaction(readonly=True) as conn:
        session, user = await signed_in_user(request, conn)
        app = None if user is not None else await asking_app(conn, next_path)
    if user is not None:
        return RedirectResponse(next_path, status_code=303)
    return _login_page(request, session, next_path=next_path, app=app)


@router.post("/login")
async def login(request: Request) -> Response:
    """Check CSRF, count the attempt, verify the password, then rotate the session."""
    form = await request.form()
    email, password, submitted_csrf, next_value = (
        value if isinstance(value := form.get(name), str) else ""
        for name in ("email", "password", "csrf_token", "next")
    )
    next_path = safe_next(next_value)
    services = services_of(request)
    address = client_address(request)
    throttle = LoginThrottle.of(services, email=email, address=address)

    async with services.db.transaction() as conn:
        session = await current_session(request, conn)
        app = await asking_app(conn, next_path)
        if not csrf_valid(request, session, submitted_csrf):
            _log.info("login.csrf_rejected")
            return _login_page(
                request,
                session,
                next_path=next_path,
                app=app,
                email=email,
                error=_FORM_EXPIRED,
                status_code=403,
            )
        verdict = await throttle.count_attempt(conn, services.clock.now())
    if verdict.retry_after is not None:
        retry_after = verdict.retry_after
        _log.info("login.throttled", retry_after=retry_after)
        response = _login_page(
            request,
            session,
            next_path=next_path,
            app=app,
            email=email,
            status_code=429,
            error=f"Too many sign-in attempts. Try again in {_duration(retry_after)}.",
        )
        response.headers["Retry-After"] = str(retry_after)
        return response

    if verdict.delay:
        _log.info("login.slowed_down", delay=verdict.delay)
        await sleep(verdict.delay)
    # Verification is slow on purpose. On SQLite it runs in a read transaction, so that no
    # write lock is held meanwhile; a PostgreSQL transaction locks nothing until it writes, and
    # stays writable for the upgrade of an outdated password hash.
    async with services.db.transaction(readonly=services.db.is_sqlite) as conn:
        user = await authenticate(conn, email, password)
    if user is None:
        _log.info("login.failed")
        return _login_page(
            request,
            session,
            next_path=next_path,
            app=app,
            email=email,
            error=WRONG_CREDENTIALS,
            status_code=401,
        )

    async with services.db.transaction() as conn:
        await throttle.succeeded(conn, services.clock.now())
        signed_in = await sign_in(request, conn, session, user.id)
    _log.info("login.succeeded", user_id=user.id)
    redirect = RedirectResponse(next_path, status_code=303)
    set_session_cookie(request, redirect, signed_in)
    return redirect


def _duration(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds} second{'s' if seconds != 1 else ''}"
    minutes = -(-seconds // 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session server-side; the old cookie is worthless afterwards."""
    form = await request.form()
    submitted = form.get("csrf_token")
    async with services_of(request).db.transaction() as conn:
        session = await current_session(request, conn)
        if not csrf_valid(request, session, submitted if isinstance(submitted, str) else None):
            return render_error(request, 403, "Sign-out failed", _FORM_EXPIRED)
        fresh = await end_session(request, conn, session)
    if session.user_id is not None:
        _log.info("logout", user_id=session.user_id)
    response = RedirectResponse("/login", status_code=303)
    set_session_cookie(request, response, fresh)
    return response


@router.get("/")
async def home(request: Request) -> Response:
    """The signed-in user's organizations, their role in each, and each one's projects."""
    async with services_of(request).db.transaction(readonly=True) as conn:
        session, user = await signed_in_user(request, conn)
        if user is None:
            return RedirectResponse("/login?next=/", status_code=303)
        organizations = [
            {"organization": org, "role": role, "projects": await list_projects(conn, org.id)}
            for org, role in await list_memberships(conn, user.id)
        ]
    return render(
        request,
        "home.html",
        {"user": user, "csrf_token": csrf_token(request, session), "organizations": organizations},
    )
