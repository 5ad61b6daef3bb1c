"""``/settings/connected-apps`` (SPEC §6): the apps a user has connected, and — for owners and
admins — every app connected to their organizations, each revocable.

Revoking is a POST with the session's CSRF token, behind a confirmation step
that works without JavaScript (a ``<details>`` disclosure holding the form).
It runs the one grant cascade (`grants.revoke_grant`): the grant is revoked,
its refresh tokens are deleted and its installation tokens answer 410 on the
very next request. A grant the user may not revoke is answered like an
unknown one (404), so the page reveals nothing about other organizations.

Owners and admins of a grant's organization may also narrow or widen the
projects it covers (`grants.set_projects`, audited as ``grant.updated``); the
app's tokens are held to the new projects from their next request.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import grants
from i18n_connect.api.metrics import grant_metrics
from i18n_connect.developer.publisher import Publisher, publisher_of
from i18n_connect.oauth import project_choice
from i18n_connect.oauth.clients import Client, get_client
from i18n_connect.platform import connection_requests
from i18n_connect.platform.accounts import get_user
from i18n_connect.platform.organizations import (
    ADMIN_ROLES,
    Organization,
    administered_organizations,
    get_organization,
    membership_role,
)
from i18n_connect.platform.projects import Project, list_projects
from i18n_connect.scopes import CATALOG, Scope
from i18n_connect.web.identity import login_redirect, signed_in_user
from i18n_connect.web.sessions import csrf_token, csrf_valid, services_of, set_session_cookie
from i18n_connect.web.templates import render, render_error

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

PAGE = "/settings/connected-apps"


@dataclass(frozen=True, slots=True)
class ConnectedApp:
    """One live grant as the page shows it (pages list them by app, then organization)."""

    grant_id: str
    app_name: str
    app_verified: bool  # registered by an operator; others show the Unverified mark
    publisher: Publisher | None  # a console app's publishing organization, logo and domain
    organization: Organization
    scopes: tuple[Scope, ...]  # in plain words, from the catalog
    created_at: datetime
    last_used_at: datetime | None
    connected_by: str  # the granting user's email
    projects: tuple[Project, ...] | None  # those the grant covers; None: all, including future
    organization_projects: tuple[Project, ...]  # to choose from when changing them


async def _describe(conn: AsyncConnection, found: list[grants.Grant]) -> list[ConnectedApp]:
    apps: list[ConnectedApp] = []
    names: dict[str, tuple[str, bool, Publisher | None]] = {}
    orgs: dict[str, Organization] = {}
    emails: dict[str, str] = {}
    projects: dict[str, tuple[Project, ...]] = {}
    for grant in found:
        if grant.client_id not in names:
            client = await get_client(conn, grant.client_id)
            names[grant.client_id] = (
                (client.name, client.verified, await publisher_of(conn, client))
                if client is not None
                else (grant.client_id, False, None)
            )
        if grant.organization_id not in orgs:
            organization = await get_organization(conn, grant.organization_id)
            if organization is None:
                continue
            orgs[grant.organization_id] = organization
            projects[organization.id] = tuple(await list_projects(conn, organization.id))
        if grant.user_id not in emails:
            user = await get_user(conn, grant.user_id)
            emails[grant.user_id] = user.email if user is not None else grant.user_id
        apps.append(
            ConnectedApp(
                grant_id=grant.id,
                app_name=names[grant.client_id][0],
                app_verified=names[grant.client_id][1],
                publisher=names[grant.client_id][2],
                organization=orgs[grant.organization_id],
                scopes=tuple(CATALOG.get(name, Scope(name, name, False)) for name in grant.scope),
                created_at=grant.created_at,
                last_used_at=grant.last_used_at,
                connected_by=emails[grant.user_id],
                projects=(
                    None
                    if grant.project_ids is None
                    else tuple(
                        p for p in projects[grant.organization_id] if p.id in grant.project_ids
                    )
                ),
                organization_projects=projects[grant.organization_id],
            )
        )
    return sorted(apps, key=lambda app: (app.app_name.lower(), app.organization.name.lower()))


async def _may_revoke(conn: AsyncConnection, grant: grants.Grant, user_id: str) -> bool:
    """The user gave the grant, or owns or administers its organization."""
    return (
        grant.user_id == user_id
        or await membership_role(conn, grant.organization_id, user_id) in ADMIN_ROLES
    )


async def _revoked_notice(
    conn: AsyncConnection, grant_id: str | None, user_id: str
) -> ConnectedApp | None:
    """The grant named by ``?revoked=``, when it is revoked and this user may see it."""
    if not grant_id or len(grant_id) > 64:
        return None
    grant = await grants.get_grant(conn, grant_id)
    if grant is None or grant.revoked_at is None or not await _may_revoke(conn, grant, user_id):
        return None
    described = await _describe(conn, [grant])
    return described[0] if described else None


@dataclass(frozen=True, slots=True)
class MyRequest:
    """One of the user's requests to connect an app, as the page tells its outcome."""

    app_name: str
    organization: Organization
    status: str  # pending | approved | declined
    created_at: datetime
    expires_at: datetime  # an approval lasts until then
    app_url: str | None = None  # the app's https home page, to go back and connect from


def _home_page(client: Client | None) -> str | None:
    uri = client.client_uri if client is not None else None
    return uri if uri and uri.startswith("https://") else None


async def _my_requests(conn: AsyncConnection, user_id: str, now: datetime) -> list[MyRequest]:
    found = []
    for ask in await connection_requests.live_requests(
        conn, now=now, user_id=user_id, statuses=("pending", "approved", "declined")
    ):
        client = await get_client(conn, ask.client_id)
        organization = await get_organization(conn, ask.organization_id)
        if organization is not None:
            name = client.name if client is not None else ask.client_id
            found.append(
                MyRequest(
                    name,
                    organization,
                    ask.status,
                    ask.created_at,
                    ask.expires_at,
                    _home_page(client),
                )
            )
    return found


def _notice_id(value: str | None) -> str | None:
    return value if value and len(value) <= 64 else None


@router.get(PAGE)
async def connected_apps(
    request: Request, revoked: str | None = None, updated: str | None = None
) -> Response:
    """The user's grants, then the other grants on the organizations the user administers."""
    now = services_of(request).clock.now()
    async with services_of(request).db.transaction(readonly=True) as conn:
        session, user = await signed_in_user(request, conn)
        if user is None:
            return login_redirect(request)
        revoked_app = await _revoked_notice(conn, revoked, user.id)
        asks = await _my_requests(conn, user.id, now)
        mine = await _describe(conn, await grants.list_grants(conn, user_id=user.id))
        administered = []
        organizations = await administered_organizations(conn, user.id)
        for organization in organizations:
            others = [
                grant
                for grant in await grants.list_grants(conn, organization_id=organization.id)
                if grant.user_id != user.id
            ]
            pending = await connection_requests.live_requests(
                conn, now=now, organization_id=organization.id, statuses=("pending",)
            )
            administered.append((organization, await _describe(conn, others), len(pending)))
    response = render(
        request,
        "connected_apps.html",
        {
            "user": user,
            "csrf_token": csrf_token(request, session),
            "mine": mine,
            "administered": administered,
            "administered_ids": {organization.id for organization in organizations},
            "revoked": revoked_app,
            "asks": asks,
            "updated": _notice_id(updated),
            "mode_field": project_choice.mode_field,
        },
    )
    set_session_cookie(request, response, session)
    return response


@router.post(PAGE + "/{grant_id}/revoke")
async def revoke_connected_app(
    request: Request,
    grant_id: Annotated[str, Path(max_length=64)],
    csrf: Annotated[str | None, Form(alias="csrf_token")] = None,
) -> Response:
    """Revoke one grant the user gave, or any grant on an organization the user administers."""
    services = services_of(request)
    async with services.db.transaction() as conn:
        session, user = await signed_in_user(request, conn)
        if user is None:
            return RedirectResponse("/login?next=" + PAGE, status_code=303)
        if not csrf_valid(request, session, csrf):
            return render_error(
                request, 403, "Revocation failed", "This form has expired. Please try again."
            )
        grant = await grants.get_grant(conn, grant_id)
        if grant is None or not await _may_revoke(conn, grant, user.id):
            return render_error(request, 404, "Not found", "No such connected app.")
        reason = "connected_apps" if grant.user_id == user.id else "connected_apps.admin"
        revoked = await grants.revoke_grant(
            conn, grant_id, actor=user.id, now=services.clock.now(), reason=reason
        )
    if revoked:
        grant_metrics(request).grants_revoked.labels(via="connected_apps").inc()
    return RedirectResponse(f"{PAGE}?revoked={quote(grant_id, safe='')}", status_code=303)


@router.post(PAGE + "/{grant_id}/projects")
async def change_projects(
    request: Request, grant_id: Annotated[str, Path(max_length=64)]
) -> Response:
    """Narrow or widen the projects of a live grant on an organization the user administers."""
    services = services_of(request)
    form: dict[str, list[str]] = {}
    for name, value in (await request.form()).multi_items():
        if isinstance(value, str):
            form.setdefault(name, []).append(value)
    async with services.db.transaction() as conn:
        session, user = await signed_in_user(request, conn)
        if user is None:
            return RedirectResponse("/login?next=" + PAGE, status_code=303)
        submitted = form.get("csrf_token", [])
        if not csrf_valid(request, session, submitted[0] if len(submitted) == 1 else None):
            return render_error(
                request, 403, "Change failed", "This form has expired. Please try again."
            )
        grant = await grants.get_grant(conn, grant_id)
        organization = await get_organization(conn, grant.organization_id) if grant else None
        if (
            grant is None
            or grant.revoked_at is not None
            or organization is None
            or await membership_role(conn, organization.id, user.id) not in ADMIN_ROLES
        ):
            return render_error(request, 404, "Not found", "No such connected app.")
        offered = {organization.id: await list_projects(conn, organization.id)}
        try:
            chosen = project_choice.choose(form, [organization], offered)[organization.id]
        except project_choice.ProjectChoiceError as exc:
            status = 400 if exc.tampered else 422
            return render_error(request, status, "The projects were not changed", exc.message)
        await grants.set_projects(conn, grant, chosen, actor=user.id, now=services.clock.now())
    return RedirectResponse(f"{PAGE}?updated={quote(grant_id, safe='')}", status_code=303)
