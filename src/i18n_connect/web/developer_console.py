"""The developer console (issue #14): ``/developer/apps``, where owners and admins of an
organization create the apps it publishes, change them, rotate their secrets and delete them.

Server-rendered like the other signed-in pages: every form carries the session's CSRF token;
a member of the publishing organization who is not an owner or admin gets a 403 page that says
so, and anyone outside it a 404 (nothing about other organizations' apps is revealed). A
confidential app's secret is on the page only in the response that created or rotated it.
A logo URL is fetched with no transaction open (`developer.logos.fetch_logo`), between a read
that checks who asks and the write that stores the app.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.datastructures import FormData, UploadFile

from i18n_connect.developer import apps as console
from i18n_connect.developer.apps import AppForm, AppNotFound, LogoChange, ManagedApp, NotAppAdmin
from i18n_connect.developer.logos import MAX_LOGO_BYTES, LogoRefused, checked_logo, fetch_logo
from i18n_connect.developer.publisher import logo_path
from i18n_connect.errors import NotFound
from i18n_connect.platform.accounts import User
from i18n_connect.platform.organizations import Organization
from i18n_connect.scopes import CATALOG
from i18n_connect.web.identity import login_redirect, signed_in_user
from i18n_connect.web.secret_flash import flash_secret, flashed_secret, forget_secret
from i18n_connect.web.sessions import (
    BrowserSession,
    csrf_token,
    csrf_valid,
    services_of,
    set_session_cookie,
)
from i18n_connect.web.templates import render, render_error

__all__ = [
    "APPS",
    "after_change",
    "app_page",
    "form_text",
    "posted_by_manager",
    "refused",
    "router",
]

router = APIRouter(include_in_schema=False)

APPS = "/developer/apps"
FORM_EXPIRED = "This form has expired. Please try again."
_NO_ORGANIZATION = (
    "To create an app you must be an owner or admin of an organization, which then publishes "
    "it. Ask an owner of your organization to make you an admin."
)


def form_text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value if isinstance(value, str) else ""


def refused(request: Request, exc: AppNotFound | NotAppAdmin) -> Response:
    """The page for an app the user may not manage: 403 in plain words for a member of its
    organization, 404 for anyone else."""
    if isinstance(exc, AppNotFound):
        return render_error(request, 404, "App not found", "There is no such app in your console.")
    if exc.organization is None:
        return render_error(
            request,
            403,
            "Not allowed",
            "You can only create apps for an organization you own or administer.",
        )
    name = exc.organization.name
    return render_error(
        request,
        403,
        "Not allowed",
        f"Only owners and admins of {name} can manage the apps it publishes, and you are a "
        f"{exc.role} of {name}. Ask an owner of {name} to make you an admin.",
    )


def _page(
    request: Request, session: BrowserSession, template: str, context: dict[str, Any], status: int
) -> Response:
    response = render(
        request,
        template,
        {"csrf_token": csrf_token(request, session), "scopes": CATALOG.values(), **context},
        status_code=status,
    )
    set_session_cookie(request, response, session)
    return response


def app_page(
    request: Request,
    session: BrowserSession,
    user: User,
    app: ManagedApp,
    installations: list[console.Installation],
    *,
    status: int = 200,
    **context: Any,
) -> Response:
    """The app page; ``context`` may carry ``new_secret`` (shown once), ``notice`` and
    ``errors`` of the rotate and delete forms."""
    now = services_of(request).clock.now()
    logo = logo_path(app.client.id, app.logo_digest) if app.logo_digest else None
    values: dict[str, Any] = {"notice": None, "new_secret": None, "errors": {}, "confirm_name": ""}
    return _page(
        request,
        session,
        "developer_app.html",
        {
            "user": user,
            "app": app,
            "client": app.client,
            "logo": logo,
            "app_scopes": tuple(
                CATALOG[name] for name in (app.client.scope or "").split() if name in CATALOG
            ),
            "installations": installations,
            "previous_accepted": app.client.previous_secret_accepted(now),
            "max_grace_hours": console.MAX_GRACE_HOURS,
            **values,
            **context,
        },
        status,
    )


def _form_of(form: FormData) -> AppForm:
    return AppForm(
        name=form_text(form, "name"),
        description=form_text(form, "description"),
        client_uri=form_text(form, "client_uri"),
        policy_uri=form_text(form, "policy_uri"),
        tos_uri=form_text(form, "tos_uri"),
        redirect_uris=form_text(form, "redirect_uris"),
        kind=form_text(form, "kind"),
        scopes=tuple(value for value in form.getlist("scopes") if isinstance(value, str)),
    )


def _app_form(app: ManagedApp) -> AppForm:
    client = app.client
    return AppForm(
        name=client.name,
        description=app.profile.description,
        client_uri=client.client_uri or "",
        policy_uri=app.profile.policy_uri or "",
        tos_uri=app.profile.tos_uri or "",
        redirect_uris="\n".join(client.redirect_uris),
        kind="confidential" if client.is_confidential else "public",
        scopes=tuple((client.scope or "").split()),
    )


def _form_page(
    request: Request,
    session: BrowserSession,
    user: User,
    form: AppForm,
    *,
    organizations: list[Organization],
    app: ManagedApp | None = None,
    organization_id: str = "",
    logo_url: str = "",
    errors: dict[str, str] | None = None,
) -> Response:
    return _page(
        request,
        session,
        "developer_app_form.html",
        {
            "user": user,
            "form": form,
            "app": app,
            "organizations": organizations,
            "organization_id": organization_id,
            "logo_url": logo_url,
            "errors": errors or {},
            "max_logo_kb": MAX_LOGO_BYTES // 1024,
        },
        400 if errors else 200,
    )


async def _logo_from(
    form: FormData, *, current_source: str | None, allow_loopback: bool
) -> tuple[LogoChange, str | None]:
    """The form's logo choice and its error: an uploaded file, a URL to fetch (unless it is the
    one the stored logo came from), removal (a ticked box), or no change."""
    upload = form.get("logo_file")
    url = form_text(form, "logo_url").strip()
    data = b""
    if isinstance(upload, UploadFile):
        data = await upload.read(MAX_LOGO_BYTES + 1)
    try:
        if data and url and url != current_source:
            raise LogoRefused("Upload a logo file or give its https URL, not both.")
        if data:
            return LogoChange(logo=checked_logo(data)), None
        if url and url != current_source:
            return LogoChange(logo=await fetch_logo(url, allow_loopback=allow_loopback)), None
    except LogoRefused as exc:
        return LogoChange(), exc.message
    return LogoChange(remove=form_text(form, "remove_logo") == "yes"), None


async def _checked(
    request: Request, form: FormData, submitted: AppForm, *, current_source: str | None
) -> tuple[console.CheckedApp | None, LogoChange, dict[str, str]]:
    """The checked app and logo choice, or ``None`` and a message per wrong field."""
    allow_loopback = services_of(request).settings.cimd_allow_loopback
    logo, logo_error = await _logo_from(
        form, current_source=current_source, allow_loopback=allow_loopback
    )
    checked, errors = console.check_form(submitted)
    if logo_error is not None:
        errors["logo"] = logo_error
        checked = None
    return checked, logo, errors


@router.get(APPS)
async def apps_list(request: Request, deleted: str | None = None) -> Response:
    """The apps of every organization the user owns or administers."""
    async with services_of(request).db.transaction(readonly=True) as conn:
        session, user = await signed_in_user(request, conn)
        if user is None:
            return login_redirect(request)
        apps = await console.my_apps(conn, user.id)
        organizations = await console.publishing_organizations(conn, user.id)
        logos = {
            app.client.id: logo_path(app.client.id, app.logo_digest)
            for app in apps
            if app.logo_digest
        }
    context = {"user": user, "apps": apps, "logos": logos, "organizations": organizations}
    return _page(request, session, "developer_apps.html", {**context, "deleted": deleted}, 200)


@router.get(APPS + "/new")
async def new_app(request: Request) -> Response:
    async with services_of(request).db.transaction(readonly=True) as conn:
        session, user = await signed_in_user(request, conn)
        if user is None:
            return login_redirect(request)
        organizations = await console.publishing_organizations(conn, user.id)
    if not organizations:
        return render_error(request, 403, "No organization to publish apps", _NO_ORGANIZATION)
    return _form_page(
        request,
        session,
        user,
        AppForm(kind="public", scopes=("org:read", "projects:read")),
        organizations=organizations,
        organization_id=organizations[0].id if len(organizations) == 1 else "",
    )


@router.post(APPS)
async def create_app(request: Request) -> Response:
    """Create an app published by one of the user's organizations; a confidential app's
    secret is shown once, on the app page this redirects to (`secret_flash`)."""
    services = services_of(request)
    form = await request.form(max_files=1, max_fields=100)
    organization_id = form_text(form, "organization_id")
    async with services.db.transaction(readonly=True) as conn:
        session, user = await signed_in_user(request, conn)
        if user is None:
            return RedirectResponse("/login?next=" + APPS + "/new", status_code=303)
        if not csrf_valid(request, session, form_text(form, "csrf_token")):
            return render_error(request, 403, "App not created", FORM_EXPIRED)
        try:
            if organization_id:  # none chosen: a field error below
                await console.organization_for_new_app(conn, organization_id, user.id)
        except NotAppAdmin as exc:
            return refused(request, exc)
        organizations = await console.publishing_organizations(conn, user.id)
    submitted = _form_of(form)
    checked, logo, errors = await _checked(request, form, submitted, current_source=None)
    if not organization_id:
        errors["organization_id"] = "Choose the organization that publishes the app."
    if checked is None or not organization_id:
        return _form_page(
            request,
            session,
            user,
            submitted,
            organizations=organizations,
            organization_id=organization_id,
            logo_url=form_text(form, "logo_url"),
            errors=errors,
        )
    now = services.clock.now()
    async with services.db.transaction() as conn:
        try:
            organization = await console.organization_for_new_app(conn, organization_id, user.id)
        except NotAppAdmin as exc:
            return refused(request, exc)
        client, secret = await console.create_app(
            conn,
            checked,
            organization=organization,
            logo=logo.logo,
            user_id=user.id,
            now=now,
            hasher=services.hasher,
        )
    return after_change(request, session, client.id, "created", secret)


def after_change(
    request: Request, session: BrowserSession, client_id: str, done: str, secret: str | None
) -> Response:
    """The redirect to the app page after a change; a new secret rides along once."""
    response = RedirectResponse(f"{APPS}/{quote(client_id, safe='')}?{done}=1", status_code=303)
    if secret is not None:
        flash_secret(request, response, session, client_id, secret)
    set_session_cookie(request, response, session)
    return response


async def posted_by_manager(
    request: Request, conn: AsyncConnection, form: FormData, client_id: str, failure: str
) -> tuple[BrowserSession, User, ManagedApp] | Response:
    """The session, user and app of a form posted about an app by one who may manage it;
    otherwise the answer: sign in, an expired form (403, titled ``failure``), 403 or 404."""
    session, user = await signed_in_user(request, conn)
    if user is None:
        return RedirectResponse("/login?next=" + APPS, status_code=303)
    if not csrf_valid(request, session, form_text(form, "csrf_token")):
        return render_error(request, 403, failure, FORM_EXPIRED)
    try:
        return session, user, await console.managed_app(conn, client_id, user.id)
    except (AppNotFound, NotAppAdmin) as exc:
        return refused(request, exc)


async def _load(request: Request, client_id: str) -> tuple[BrowserSession, User | None, Any]:
    """The session, its user and the app with its installations (or the refusal)."""
    async with services_of(request).db.transaction(readonly=True) as conn:
        session, user = await signed_in_user(request, conn)
        if user is None:
            return session, None, None
        try:
            app = await console.managed_app(conn, client_id, user.id)
        except (AppNotFound, NotAppAdmin) as exc:
            return session, user, exc
        return session, user, (app, await console.installations(conn, client_id))


_NOTICES = {
    "created": "The app was created.",
    "saved": "Your changes were saved.",
    "rotated": "The secret was rotated.",
}


@router.get(APPS + "/{client_id}")
async def show_app(request: Request, client_id: str) -> Response:
    """The app page; right after a create or rotation, with the new secret (once)."""
    session, user, found = await _load(request, client_id)
    if user is None:
        return login_redirect(request)
    if isinstance(found, (AppNotFound, NotAppAdmin)):
        return refused(request, found)
    app, installations = found
    notice = next((text for key, text in _NOTICES.items() if key in request.query_params), None)
    secret = flashed_secret(request, session, client_id)
    response = app_page(
        request, session, user, app, installations, notice=notice, new_secret=secret
    )
    forget_secret(request, response, client_id)
    return response


@router.get(APPS + "/{client_id}/edit")
async def edit_app(request: Request, client_id: str) -> Response:
    session, user, found = await _load(request, client_id)
    if user is None:
        return login_redirect(request)
    if isinstance(found, (AppNotFound, NotAppAdmin)):
        return refused(request, found)
    app = found[0]
    return _form_page(
        request,
        session,
        user,
        _app_form(app),
        organizations=[app.organization],
        app=app,
        organization_id=app.organization.id,
        logo_url=app.logo_source or "",
    )


@router.post(APPS + "/{client_id}/edit")
async def update_app(request: Request, client_id: str) -> Response:
    """Save the edit form; the kind (public or confidential) cannot change."""
    services = services_of(request)
    form = await request.form(max_files=1, max_fields=100)
    async with services.db.transaction(readonly=True) as conn:
        posted = await posted_by_manager(request, conn, form, client_id, "Changes not saved")
    if isinstance(posted, Response):
        return posted
    session, user, app = posted
    kind = "confidential" if app.client.is_confidential else "public"
    submitted = replace(_form_of(form), kind=kind)
    source = app.logo_source if app.logo_digest else None
    checked, logo, errors = await _checked(request, form, submitted, current_source=source)
    if checked is None:
        return _form_page(
            request,
            session,
            user,
            submitted,
            organizations=[app.organization],
            app=app,
            organization_id=app.organization.id,
            logo_url=form_text(form, "logo_url"),
            errors=errors,
        )
    async with services.db.transaction() as conn:
        try:
            app = await console.managed_app(conn, client_id, user.id)
        except (AppNotFound, NotAppAdmin) as exc:
            return refused(request, exc)
        try:
            await console.update_app(
                conn, app, checked, logo=logo, user_id=user.id, now=services.clock.now()
            )
        except NotFound:  # deleted meanwhile
            return refused(request, AppNotFound(client_id))
    return after_change(request, session, client_id, "saved", None)
