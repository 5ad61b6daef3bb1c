"""The developer console's webhook pages: ``/developer/apps/{client_id}/webhooks``.

Owners and admins of the organization that publishes the app (`developer.apps.managed_app`)
manage its endpoints (add, rotate the signing secret with an overlap, enable again after
failing, disable, delete) and read its delivery log, from which a delivery can be sent again.
Anyone else — and every app not made in the console — gets the 404 an unknown app gets. A new
or rotated secret is shown in the answer to that POST only (``no-store``), never again. Forms
post the session's CSRF token; the confirmations are ``<details>`` disclosures, so the page
works without JavaScript.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.developer.apps import AppNotFound, ManagedApp, NotAppAdmin, managed_app
from i18n_connect.errors import InvalidRequest, ProtocolError
from i18n_connect.oauth.clients import Client
from i18n_connect.platform.accounts import User
from i18n_connect.web.errors import NO_STORE
from i18n_connect.web.identity import login_redirect, signed_in_user
from i18n_connect.web.sessions import csrf_token, csrf_valid, services_of, set_session_cookie
from i18n_connect.web.templates import render, render_error
from i18n_connect.webhooks import endpoints, log
from i18n_connect.webhooks.events import EVENT_TYPES

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PAGE = "/developer/apps/{client_id}/webhooks"
ClientId = Annotated[str, Path(max_length=512)]
ItemId = Annotated[str, Path(max_length=64)]
Csrf = Annotated[str | None, Form(alias="csrf_token")]


async def _managed_app(conn: AsyncConnection, client_id: str, user: User) -> ManagedApp | None:
    """The console app, if the user owns or administers the organization that publishes it."""
    try:
        return await managed_app(conn, client_id, user.id)
    except (AppNotFound, NotAppAdmin):
        return None


def _page_of(client_id: str) -> str:
    return PAGE.format(client_id=client_id)


async def _page(
    request: Request,
    conn: AsyncConnection,
    session: Any,
    user: User,
    managed: ManagedApp,
    *,
    status_code: int = 200,
    **extra: Any,
) -> Response:
    app = managed.client
    response = render(
        request,
        "webhooks.html",
        {
            "user": user,
            "csrf_token": csrf_token(request, session),
            "app": app,
            "organization": managed.organization,
            "page": _page_of(app.id),
            "endpoints": await endpoints.list_endpoints(conn, client_id=app.id),
            "deliveries": await log.deliveries(conn, client_id=app.id),
            "event_types": EVENT_TYPES,
            "error": None,
            "notice": None,
            "new_secret": None,
            "secret_for": None,
            "url": "",
            "chosen": (),
            **extra,
        },
        status_code=status_code,
    )
    set_session_cookie(request, response, session)
    return response


@router.get(PAGE)
async def webhooks_page(request: Request, client_id: ClientId) -> Response:
    async with services_of(request).db.transaction(readonly=True) as conn:
        session, user = await signed_in_user(request, conn)
        if user is None:
            return login_redirect(request)
        app = await _managed_app(conn, client_id, user)
        if app is None:
            return render_error(request, 404, "Not found", "No such app.")
        return await _page(request, conn, session, user, app)


Work = Callable[[AsyncConnection, Client, datetime], Awaitable[dict[str, Any]]]


async def _change(
    request: Request, client_id: str, csrf: str | None, work: Work, **form: Any
) -> Response:
    """Run ``work(conn, app, now)`` for a manager of the app, then show the page again: with
    what ``work`` returns (a new secret, a notice), or with the error, its status and what
    the form held (``form``). Every refusal comes before ``work`` writes anything."""
    services = services_of(request)
    async with services.db.transaction() as conn:
        session, user = await signed_in_user(request, conn)
        if user is None:
            return RedirectResponse(
                "/login?next=" + quote(_page_of(client_id), safe="/"), status_code=303
            )
        if not csrf_valid(request, session, csrf):
            return render_error(request, 403, "Not saved", "This form has expired. Try again.")
        app = await _managed_app(conn, client_id, user)
        if app is None:
            return render_error(request, 404, "Not found", "No such app.")
        try:
            shown = await work(conn, app.client, services.clock.now())
        except ProtocolError as error:
            status = error.status if error.status in (400, 404) else 400
            return await _page(
                request,
                conn,
                session,
                user,
                app,
                status_code=status,
                error=error.description,
                **form,
            )
        response = await _page(request, conn, session, user, app, **shown)
    response.headers.update(NO_STORE)
    return response


@router.post(PAGE)
async def add_endpoint(
    request: Request,
    client_id: ClientId,
    csrf: Csrf = None,
    url: Annotated[str, Form(max_length=2048)] = "",
    event_types: Annotated[list[str] | None, Form()] = None,
) -> Response:
    async def work(conn: AsyncConnection, app: Client, now: datetime) -> dict[str, Any]:
        created = await endpoints.create_endpoint(
            conn,
            services_of(request),
            client_id=app.id,
            url=url.strip(),
            event_types=event_types or [],
            now=now,
        )
        return {"new_secret": created.secret, "secret_for": created.endpoint.id}

    return await _change(request, client_id, csrf, work, url=url, chosen=event_types or ())


@router.post(PAGE + "/{endpoint_id}/rotate")
async def rotate_secret(
    request: Request,
    client_id: ClientId,
    endpoint_id: ItemId,
    csrf: Csrf = None,
    overlap_hours: Annotated[str, Form(max_length=10)] = "24",
) -> Response:
    async def work(conn: AsyncConnection, app: Client, now: datetime) -> dict[str, Any]:
        try:
            hours = float(overlap_hours)
        except ValueError as exc:
            raise InvalidRequest("The overlap must be a number of hours, 0 to 168.") from exc
        if not 0 <= hours <= 168:
            raise InvalidRequest("The overlap must be a number of hours, 0 to 168.")
        rotated = await endpoints.rotate_secret(
            conn,
            services_of(request),
            client_id=app.id,
            endpoint_id=endpoint_id,
            overlap=timedelta(hours=hours),
            now=now,
        )
        return {"new_secret": rotated.secret, "secret_for": rotated.endpoint.id}

    return await _change(request, client_id, csrf, work)


@router.post(PAGE + "/{endpoint_id}/{action}")
async def switch_endpoint(
    request: Request,
    client_id: ClientId,
    endpoint_id: ItemId,
    action: Annotated[str, Path(pattern="^(enable|disable|delete)$")],
    csrf: Csrf = None,
) -> Response:
    async def work(conn: AsyncConnection, app: Client, now: datetime) -> dict[str, Any]:
        if action == "delete":
            await endpoints.delete_endpoint(conn, client_id=app.id, endpoint_id=endpoint_id)
            return {"notice": "Endpoint deleted."}
        await endpoints.enable_endpoint(
            conn, client_id=app.id, endpoint_id=endpoint_id, enabled=action == "enable", now=now
        )
        return {"notice": f"Endpoint {action}d."}

    return await _change(request, client_id, csrf, work)


@router.post(PAGE + "/deliveries/{delivery_id}/redeliver")
async def redeliver(
    request: Request, client_id: ClientId, delivery_id: ItemId, csrf: Csrf = None
) -> Response:
    async def work(conn: AsyncConnection, app: Client, now: datetime) -> dict[str, Any]:
        again = await log.redeliver(conn, client_id=app.id, delivery_id=delivery_id, now=now)
        return {"notice": f"{again.event_type} queued again."}

    return await _change(request, client_id, csrf, work)
