"""``/orgs/{slug}/app-policy`` (SPEC §6 "Organization policy"): who may connect apps to an
organization and which apps, decided by its owners.

Owners change the settings and the approved and blocked lists; admins see them
read-only; anyone else gets the 404 of an unknown organization, so the page
reveals nothing. Every form carries the session's CSRF token (403 without it).
A change that would revoke grants first answers with a confirmation page that
says how many, per app; the change is made only when that form comes back with
the same number (a number that moved meanwhile asks again). A value the page
never offers is refused with 400 and nothing written.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import grants
from i18n_connect.errors import InvalidRequest, NotFound
from i18n_connect.oauth.clients import get_client
from i18n_connect.platform import connection_requests, policies
from i18n_connect.platform.accounts import User, get_user
from i18n_connect.platform.organizations import (
    ADMIN_ROLES,
    Organization,
    get_organization_by_slug,
    membership_role,
)
from i18n_connect.web.identity import login_redirect, signed_in_user
from i18n_connect.web.sessions import (
    BrowserSession,
    csrf_token,
    csrf_valid,
    services_of,
    set_session_cookie,
)
from i18n_connect.web.templates import render, render_error

__all__ = ["Viewer", "form_of", "page_url", "router", "viewer_of"]

router = APIRouter(include_in_schema=False)

_MAX_FIELD = 512
_NO_SUCH_ORGANIZATION = ("Not found", "No such organization.")


def page_url(organization: Organization) -> str:
    return f"/orgs/{quote(organization.slug, safe='')}/app-policy"


@dataclass(frozen=True, slots=True)
class AppLine:
    """An app as the policy page names it: never a bare id when the name is known."""

    client_id: str
    name: str
    verified: bool
    grants: int = 0


@dataclass(frozen=True, slots=True)
class Viewer:
    session: BrowserSession
    user: User
    organization: Organization
    role: str


async def _app(conn: AsyncConnection, client_id: str, count: int = 0) -> AppLine:
    client = await get_client(conn, client_id)
    if client is None:
        return AppLine(client_id, client_id, False, count)
    return AppLine(client.id, client.name, client.verified, count)


async def _apps_of(conn: AsyncConnection, found: list[grants.Grant]) -> list[AppLine]:
    """The apps of ``found`` with how many of the grants each holds, by name."""
    counts = Counter(grant.client_id for grant in found)
    lines = [await _app(conn, client_id, count) for client_id, count in counts.items()]
    return sorted(lines, key=lambda line: line.name.lower())


async def viewer_of(request: Request, conn: AsyncConnection, slug: str) -> Viewer | Response:
    """The signed-in owner or admin looking at the organization, or the response to send."""
    session, user = await signed_in_user(request, conn)
    if user is None:
        return login_redirect(request)
    organization = await get_organization_by_slug(conn, slug[:_MAX_FIELD])
    role = organization and await membership_role(conn, organization.id, user.id)
    if organization is None or role not in ADMIN_ROLES:
        return render_error(request, 404, *_NO_SUCH_ORGANIZATION)
    return Viewer(session, user, organization, role or "")


def _form_value(form: dict[str, list[str]], name: str) -> str:
    values = form.get(name, [])
    if len(values) != 1 or len(values[0]) > _MAX_FIELD:
        raise InvalidRequest(f"the form's {name} is missing or repeated")
    return values[0]


@router.get("/orgs/{slug}/app-policy")
async def policy_page(request: Request, slug: str) -> Response:
    """The organization's policy, its lists and its connected apps."""
    async with services_of(request).db.transaction(readonly=True) as conn:
        viewer = await viewer_of(request, conn, slug)
        if isinstance(viewer, Response):
            return viewer
        organization = viewer.organization
        policy = await policies.get_policy(conn, organization.id)
        listed = [
            (entry, await _app(conn, entry.client_id))
            for entry in await policies.listed_apps(conn, organization.id)
        ]
        connected = await _apps_of(
            conn, await grants.list_grants(conn, organization_id=organization.id)
        )
        asks = []
        for ask in await connection_requests.live_requests(
            conn, now=services_of(request).clock.now(), organization_id=organization.id
        ):
            requester = await get_user(conn, ask.user_id)
            asks.append((ask, requester, await _app(conn, ask.client_id)))
    revoked = request.query_params.get("revoked", "")
    response = render(
        request,
        "organization_policy.html",
        {
            "user": viewer.user,
            "csrf_token": csrf_token(request, viewer.session),
            "organization": organization,
            "may_edit": viewer.role == "owner",
            "policy": policy,
            "approved": [app for entry, app in listed if entry.list == "approved"],
            "blocked": [app for entry, app in listed if entry.list == "blocked"],
            "connected": connected,
            "asks": asks,
            "may_decide": policy.may_connect(viewer.role),
            "saved": "saved" in request.query_params,
            "revoked": int(revoked) if revoked.isdigit() and len(revoked) < 7 else 0,
            "page_url": page_url(organization),
        },
    )
    set_session_cookie(request, response, viewer.session)
    return response


async def form_of(request: Request) -> dict[str, list[str]]:
    form: dict[str, list[str]] = {}
    for name, value in (await request.form()).multi_items():
        if isinstance(value, str):
            form.setdefault(name, []).append(value)
    return form


async def _owner_change(
    request: Request,
    slug: str,
    plan: Callable[[AsyncConnection, Organization, dict[str, list[str]]], Awaitable[Change]],
) -> Response:
    """Check the session, CSRF and ownership; confirm when grants would go; then apply."""
    services = services_of(request)
    form = await form_of(request)
    async with services.db.transaction() as conn:
        viewer = await viewer_of(request, conn, slug)
        if isinstance(viewer, Response):
            return viewer
        submitted = form.get("csrf_token", [])
        if not csrf_valid(request, viewer.session, submitted[0] if len(submitted) == 1 else None):
            return render_error(
                request, 403, "This form has expired", "Reload the page and try again."
            )
        if viewer.role != "owner":
            return render_error(
                request, 403, "Only owners decide", "Only an owner can change the app policy."
            )
        try:
            change = await plan(conn, viewer.organization, form)
        except (InvalidRequest, NotFound) as exc:
            return render_error(request, 400, "This change cannot be made", exc.description)
        affected = change.affected
        expected = (form.get("expected") or [""])[0]
        if affected and expected != str(len(affected)):
            response = render(
                request,
                "organization_policy_confirm.html",
                {
                    "user": viewer.user,
                    "csrf_token": csrf_token(request, viewer.session),
                    "organization": viewer.organization,
                    "summary": change.summary,
                    "fields": change.fields,
                    "action": request.url.path,
                    "affected": len(affected),
                    "apps": await _apps_of(conn, affected),
                    "moved": bool(expected),
                    "page_url": page_url(viewer.organization),
                },
            )
            set_session_cookie(request, response, viewer.session)
            return response
        revoked = await change.apply(viewer.user.id, services.clock.now())
    return RedirectResponse(f"{page_url(viewer.organization)}?saved&revoked={revoked}", 303)


@dataclass(frozen=True, slots=True)
class Change:
    """A proposed change: the grants it revokes, how the owner's form said it, how to make it."""

    affected: list[grants.Grant]
    summary: str
    fields: dict[str, str]
    apply: Callable[[str, datetime], Awaitable[int]]  # (actor, now) → grants revoked


_CONNECT_WORDS = {"owners_admins": "owners and admins", "owners": "owners only"}
_APPS_WORDS = {
    "any": "any app",
    "verified": "only apps from verified publishers",
    "approved": "only approved apps",
}


@router.post("/orgs/{slug}/app-policy")
async def change_settings(request: Request, slug: str) -> Response:
    """Who may connect apps, and which apps."""

    async def plan(
        conn: AsyncConnection, organization: Organization, form: dict[str, list[str]]
    ) -> Change:
        connect_roles = _form_value(form, "connect_roles")
        allowed_apps = _form_value(form, "allowed_apps")
        current = await policies.get_policy(conn, organization.id)
        proposed = policies.proposed_policy(current, connect_roles, allowed_apps)

        async def apply(actor: str, now: datetime) -> int:
            return await policies.change_policy(
                conn,
                organization_id=organization.id,
                connect_roles=connect_roles,
                allowed_apps=allowed_apps,
                actor=actor,
                now=now,
            )

        return Change(
            await policies.grants_affected(conn, organization.id, proposed),
            f"Allow {_APPS_WORDS[allowed_apps]}, connected by {_CONNECT_WORDS[connect_roles]}.",
            {"connect_roles": connect_roles, "allowed_apps": allowed_apps},
            apply,
        )

    return await _owner_change(request, slug, plan)


@router.post("/orgs/{slug}/app-policy/list")
async def change_list(request: Request, slug: str) -> Response:
    """Put an app on the approved or blocked list, or take it off (``operation`` add|remove)."""

    async def plan(
        conn: AsyncConnection, organization: Organization, form: dict[str, list[str]]
    ) -> Change:
        list_name = _form_value(form, "list")
        client_id = _form_value(form, "client_id").strip()
        operation = _form_value(form, "operation")
        if operation not in ("add", "remove"):
            raise InvalidRequest("the form's operation must be add or remove")
        listed = operation == "add"
        current = await policies.get_policy(conn, organization.id)
        proposed = policies.proposed_list_change(current, list_name, client_id, listed)
        app = await _app(conn, client_id)
        if listed and await get_client(conn, client_id) is None:
            raise NotFound(f"No app is registered with the client id {client_id[:80]!r}.")
        verb = {("add", "blocked"): "Block", ("remove", "blocked"): "Unblock"}.get(
            (operation, list_name), "Approve" if listed else "Stop approving"
        )

        async def apply(actor: str, now: datetime) -> int:
            return await policies.change_list(
                conn,
                organization_id=organization.id,
                list_name=list_name,
                client_id=client_id,
                listed=listed,
                actor=actor,
                now=now,
            )

        return Change(
            await policies.grants_affected(conn, organization.id, proposed),
            f"{verb} {app.name}.",
            {"list": list_name, "client_id": client_id, "operation": operation},
            apply,
        )

    return await _owner_change(request, slug, plan)


@router.post("/orgs/{slug}/app-policy/revoke")
async def revoke_app(request: Request, slug: str) -> Response:
    """Revoke every grant of one app in the organization, without changing the policy."""

    async def plan(
        conn: AsyncConnection, organization: Organization, form: dict[str, list[str]]
    ) -> Change:
        client_id = _form_value(form, "client_id")
        affected = await grants.list_grants(
            conn, organization_id=organization.id, client_id=client_id
        )
        if not affected:
            raise NotFound("This app has no connection to revoke here.")
        app = await _app(conn, client_id)

        async def apply(actor: str, now: datetime) -> int:
            return await policies.revoke_app(
                conn, organization_id=organization.id, client_id=client_id, actor=actor, now=now
            )

        return Change(
            affected,
            f"Revoke every connection of {app.name} to {organization.name}.",
            {"client_id": client_id},
            apply,
        )

    return await _owner_change(request, slug, plan)
