"""The example partner app: the seed's ``/connect/start`` and ``/connect/callback``, in Python.

A signed-in partner user clicks **Connect**; ``/connect/start`` keeps a fresh
``state`` and PKCE verifier for 10 minutes in SQLite, bound to that user, and
redirects to the platform's consent screen. ``/connect/callback`` checks
``state`` and ``iss`` (RFC 9207), exchanges the code and stores one
connection per returned grant. The home page lists each connection's
organization and projects with installation tokens; **Disconnect** (after a
confirmation) revokes the grant and says so; a revoked grant or a refused
refresh shows **Reconnect**, which passes ``organization_hint`` so the consent
screen pre-selects that organization.
"""

from __future__ import annotations

import asyncio
import hmac
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route
from starlette.templating import Jinja2Templates

from examples.partner_app.config import Config
from examples.partner_app.store import Connection, Pending, Store
from examples.partner_app.tokens import NeedsReconnect, Tokens
from i18n_connect.client import (
    AccessDenied,
    AuthorizationSession,
    ConnectClient,
    I18nConnectError,
    InvalidCallback,
    InvalidWebhook,
    MissingScope,
    Organization,
    PartnerAPI,
    Project,
    TokenSet,
    verify_webhook,
)

__all__ = ["create_app"]

_MAX_HINT_LENGTH = 64
TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


@dataclass
class ConnectionView:
    """What the home page shows for one connection."""

    connection: Connection
    organization: Organization | None = None
    projects: list[Project] = field(default_factory=list)
    problem: str = ""


def _user_id(request: Request) -> int | None:
    value = request.session.get("user_id")
    return value if isinstance(value, int) else None


def _csrf(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


async def _check_csrf(request: Request) -> bool:
    form = await request.form()
    sent = form.get("csrf")
    expected = request.session.get("csrf")
    return (
        isinstance(sent, str)
        and isinstance(expected, str)
        and hmac.compare_digest(sent.encode(), expected.encode())
    )


def _page(request: Request, name: str, status: int = 200, **context: Any) -> Response:
    context.setdefault("csrf", _csrf(request))
    context.setdefault("email", getattr(request.state, "email", None))
    return TEMPLATES.TemplateResponse(request, name, context, status_code=status)


def _state(request: Request) -> tuple[Config, Store, Tokens]:
    app_state = request.app.state
    return app_state.config, app_state.store, app_state.tokens


async def _signed_in(request: Request) -> int | None:
    user_id = _user_id(request)
    if user_id is None:
        return None
    _, store, _ = _state(request)
    email = await run_in_threadpool(store.email_of, user_id)
    if email is None:
        request.session.clear()
        return None
    request.state.email = email
    return user_id


def _to_login(path: str) -> Response:
    return RedirectResponse(f"/login?next={path}", status_code=303)


async def login(request: Request) -> Response:
    next_path = request.query_params.get("next", "/")
    if not next_path.startswith("/") or next_path.startswith(("//", "/\\")):
        next_path = "/"
    if request.method == "GET":
        return _page(request, "login.html", next=next_path, error=None)
    if not await _check_csrf(request):
        return _page(request, "error.html", 400, message="The form expired; try again.")
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    _, store, _ = _state(request)
    if "@" not in email or len(password) < 8:
        return _page(
            request,
            "login.html",
            400,
            next=next_path,
            error="Enter an email and a password of 8 characters or more.",
        )
    user_id = await run_in_threadpool(store.sign_in, email, password)
    if user_id is None:
        return _page(request, "login.html", 400, next=next_path, error="Wrong password.")
    request.session.clear()
    request.session["user_id"] = user_id
    return RedirectResponse(next_path, status_code=303)


async def logout(request: Request) -> Response:
    if await _check_csrf(request):
        request.session.clear()
    return RedirectResponse("/login", status_code=303)


async def home(request: Request) -> Response:
    user_id = await _signed_in(request)
    if user_id is None:
        return _to_login("/")
    _, store, tokens = _state(request)
    connections = await run_in_threadpool(store.connections, user_id)
    views = await asyncio.gather(*(_view(tokens, c) for c in connections))
    connections = await run_in_threadpool(store.connections, user_id)  # statuses may have moved
    by_id = {c.id: c for c in connections}
    for view in views:
        view.connection = by_id.get(view.connection.id, view.connection)
    connected = request.query_params.get("connected", "")
    return _page(
        request,
        "connections.html",
        views=views,
        connected=connected if connected.isdigit() else None,
        disconnected=request.session.pop("disconnected", None),
    )


async def _view(tokens: Tokens, connection: Connection) -> ConnectionView:
    view = ConnectionView(connection)
    if connection.needs_reconnect:
        return view

    async def organization(api: PartnerAPI) -> Organization | None:
        orgs = await api.organizations()
        return next((o for o in orgs if o["id"] == connection.organization_id), None)

    async def projects(api: PartnerAPI) -> list[Project]:
        return await api.projects(connection.organization_id)

    try:
        view.organization = await tokens.call(connection, organization)
        if view.organization is not None:
            names = {connection.organization_id: view.organization["name"]}
            await run_in_threadpool(tokens.store.name_organizations, names)
        view.projects = await tokens.call(connection, projects)
    except NeedsReconnect:
        pass
    except MissingScope as exc:
        view.problem = f"This connection may not list that (it lacks {exc.required})."
    except I18nConnectError as exc:
        view.problem = f"The platform answered {exc.error}: {exc.description}"
    except httpx.HTTPError:
        view.problem = "The platform cannot be reached right now."
    return view


async def connect_start(request: Request) -> Response:
    user_id = await _signed_in(request)
    if user_id is None:
        return _to_login("/connect/start")
    config, store, tokens = _state(request)
    session = tokens.client.start_authorization(config.redirect_uri, config.scopes)
    url = session.url
    organization = request.query_params.get("organization", "")
    if 0 < len(organization) <= _MAX_HINT_LENGTH:  # Reconnect: pre-select that organization
        url += "&" + urlencode({"organization_hint": organization})
    pending = Pending(
        state=session.state,
        user_id=user_id,
        code_verifier=session.code_verifier,
        redirect_uri=session.redirect_uri,
        scope=session.scope,
        created_at=datetime.now(UTC),
    )
    await run_in_threadpool(store.save_pending, pending)
    return RedirectResponse(url, status_code=303)


async def connect_callback(request: Request) -> Response:
    user_id = await _signed_in(request)
    if user_id is None:  # an error page, not a redirect: the callback URL stays visible
        return _page(request, "error.html", 400, message="Sign in to this app, then connect again.")
    config, store, tokens = _state(request)
    params = dict(request.query_params)
    pending = await run_in_threadpool(
        store.take_pending, params.get("state", ""), user_id, datetime.now(UTC)
    )
    if pending is None:
        return _page(
            request,
            "error.html",
            400,
            message="This connection attempt is unknown, expired or not yours. Start again.",
        )
    session = AuthorizationSession(
        issuer=config.issuer,
        client_id=config.client_id,
        redirect_uri=pending.redirect_uri,
        scope=pending.scope,
        state=pending.state,
        code_verifier=pending.code_verifier,
    )

    async def persist(result: TokenSet) -> None:
        for grant in result.grants:
            await run_in_threadpool(
                store.upsert_connection,
                user_id,
                grant.organization_id,
                grant.grant_id,
                grant.refresh_token,
                " ".join(grant.scope),
            )

    try:
        result = await tokens.client.complete_authorization(
            session, params, persist=persist, require_iss=True
        )
    except AccessDenied:
        return _page(request, "error.html", 400, message="You cancelled the connection.")
    except InvalidCallback as exc:
        return _page(request, "error.html", 400, message=f"Rejected callback: {exc.description}")
    except I18nConnectError as exc:
        return _page(
            request, "error.html", 400, message=f"Connecting failed: {exc.error} {exc.description}"
        )
    tokens.remember(result)
    try:
        me = await tokens.client.me(result.access_token)
        names = {g["organization"]["id"]: g["organization"]["name"] for g in me["grants"]}
        await run_in_threadpool(store.name_organizations, names)
    except (I18nConnectError, httpx.HTTPError, KeyError, TypeError):
        pass  # names are cosmetic; the page falls back to organization ids
    return RedirectResponse(f"/?connected={len(result.grants)}", status_code=303)


async def disconnect(request: Request) -> Response:
    user_id = await _signed_in(request)
    if user_id is None:
        return _to_login("/")
    if not await _check_csrf(request):
        return _page(request, "error.html", 400, message="The form expired; try again.")
    _, store, tokens = _state(request)
    connection = await run_in_threadpool(store.connection, int(request.path_params["id"]))
    if connection is None or connection.user_id != user_id:
        return _page(request, "error.html", 404, message="No such connection.")
    try:
        await tokens.revoke(connection)
    except (I18nConnectError, httpx.HTTPError) as exc:
        return _page(request, "error.html", 502, message=f"The platform did not revoke: {exc}")
    await run_in_threadpool(store.delete_connection, connection.id)
    request.session["disconnected"] = connection.organization_name or connection.organization_id
    return RedirectResponse("/", status_code=303)


async def webhook(request: Request) -> Response:
    """Events from i18n-connect (Standard Webhooks): verified with the SDK, then acted on.
    On ``grant.revoked`` the connection shows "needs reconnect" before anyone meets a 410.
    A redelivered event (the same ``webhook-id``) does the same again, harmlessly."""
    config, store, _ = _state(request)
    if config.webhook_secret is None:
        return Response(status_code=404)
    try:
        event = verify_webhook(config.webhook_secret, await request.body(), request.headers)
    except InvalidWebhook:
        return Response(status_code=400)
    if event.get("type") == "grant.revoked":
        data = event.get("data", {})
        problem = f"Disconnected on i18n-connect ({data.get('reason', 'revoked')}). Reconnect."
        await run_in_threadpool(store.mark_reconnect, str(data.get("grant_id")), problem)
    return Response(status_code=204)


def create_app(config: Config, *, http: httpx.AsyncClient | None = None) -> Starlette:
    """The partner app; ``http`` lets tests route the SDK to an in-process issuer."""
    store = Store(config.database)
    client = ConnectClient(
        config.issuer, config.client_id, client_secret=config.client_secret, http=http
    )

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        yield
        await client.aclose()

    app = Starlette(
        routes=[
            Route("/", home),
            Route("/login", login, methods=["GET", "POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/connect/start", connect_start),
            Route("/connect/callback", connect_callback),
            Route("/connections/{id:int}/disconnect", disconnect, methods=["POST"]),
            Route("/webhooks", webhook, methods=["POST"]),
        ],
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=config.session_secret,
                session_cookie="partner_session",
                same_site="lax",
                https_only=config.public_url.startswith("https://"),
            )
        ],
        lifespan=lifespan,
    )
    app.state.config = config
    app.state.store = store
    app.state.tokens = Tokens(client, store)
    return app
