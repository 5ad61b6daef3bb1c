"""The browser side of the authorization server (SPEC §3): ``GET /api/auth/mcp/authorize``,
the consent page and its form, and the "Connection complete" page.

Errors that must not redirect (unknown client, unregistered redirect URI, any
error of a self-registered client, a request of another session, tampering,
replays) are HTML error pages with status 400; a failed CSRF check is 403.
Other authorization errors and a denial go back to the client's redirect URI
(RFC 6749 §4.1.2.1, RFC 9207).

``GET /authorize`` is counted per client address (``authorize_rate_per_minute``;
past it a 429 page with ``Retry-After``), and writes nothing for a signed-out
browser: it is sent to login with the validated request's own URL to come back
to, and the request is kept only once someone is signed in.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.grants import Projects
from i18n_connect.oauth import consent, project_choice
from i18n_connect.oauth.authorize import (
    AuthorizationErrorRedirect,
    UnsafeAuthorizationRequest,
    store_request,
    validate_authorization_request,
)
from i18n_connect.oauth.consent import (
    ConsentAnswered,
    ConsentIncomplete,
    ConsentRefused,
    ConsentView,
)
from i18n_connect.platform.accounts import User
from i18n_connect.services import Services
from i18n_connect.storage import counters
from i18n_connect.web.client_documents import prefetch
from i18n_connect.web.identity import client_address, signed_in_user
from i18n_connect.web.sessions import (
    BrowserSession,
    csrf_token,
    csrf_valid,
    services_of,
    set_session_cookie,
)
from i18n_connect.web.templates import render, render_error

__all__ = ["checked_choices", "consent_page_response", "form_values", "router", "single"]

router = APIRouter(prefix="/api/auth/mcp", include_in_schema=False)

CONSENT_PATH = "/api/auth/mcp/consent"
COMPLETE_PATH = "/api/auth/mcp/complete"
_PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}


_MAX_HINT_LENGTH = 64


def _consent_url(request_id: str, organization_hint: str | None = None) -> str:
    """The consent page of a request; ``organization_hint`` (an organization id or slug the app
    suggests, e.g. on Reconnect) only pre-selects a checkbox, so it travels in the URL."""
    url = f"{CONSENT_PATH}?request_id={quote(request_id, safe='')}"
    if organization_hint and len(organization_hint) <= _MAX_HINT_LENGTH:
        url += f"&organization_hint={quote(organization_hint, safe='')}"
    return url


def _complete_url(request_id: str) -> str:
    return f"{COMPLETE_PATH}?request_id={quote(request_id, safe='')}"


AUTHORIZE_PATH = "/api/auth/mcp/authorize"
_RATE_WINDOW_SECONDS = 60


def _login_redirect(next_url: str) -> RedirectResponse:
    return RedirectResponse(f"/login?next={quote(next_url, safe='')}", 303)


def _authorize_again_url(request: Request) -> str:
    """This request's URL rebuilt from its parsed parameters: a clean path to come back to."""
    return f"{AUTHORIZE_PATH}?{urlencode(request.query_params.multi_items())}"


def _refused(
    request: Request,
    message: str,
    session: BrowserSession | None = None,
    *,
    after_answer: bool = False,
) -> Response:
    """The 400 page for a request that may not go back to the app (or not any more);
    ``after_answer`` when the user may already have approved it."""
    response = render(
        request,
        "authorize_error.html",
        {
            "status": 400,
            "title": "This app cannot connect",
            "message": message,
            "after_answer": after_answer,
        },
        status_code=400,
    )
    response.headers.update(_PAGE_HEADERS)
    if session is not None:
        set_session_cookie(request, response, session)
    return response


async def _throttled(request: Request, services: Services) -> Response | None:
    """The 429 page when this address asked too often this minute, else ``None``."""
    async with services.db.transaction() as conn:
        wait = await counters.hit(
            conn,
            f"authorize:{client_address(request)}",
            limit=services.settings.authorize_rate_per_minute,
            window=_RATE_WINDOW_SECONDS,
            now=services.clock.now(),
        )
    if wait is None:
        return None
    return render_error(
        request,
        429,
        "Too many requests",
        f"Too many apps asked to connect from your network just now. "
        f"Wait {wait} seconds, then start again from the app.",
        headers={**_PAGE_HEADERS, "Retry-After": str(wait)},
    )


@router.get("/authorize")
async def authorize(request: Request) -> Response:
    """Validate the request; a signed-out browser signs in first and comes back here, a
    signed-in one has the request kept for its session and goes on to consent."""
    services = services_of(request)
    if (throttled := await _throttled(request, services)) is not None:
        return throttled
    await prefetch(request.query_params.get("client_id") or "", services=services)
    async with services.db.transaction(readonly=True) as conn:
        session, user = await signed_in_user(request, conn)
        try:
            validated = await validate_authorization_request(
                conn, request.query_params.multi_items(), services=services
            )
        except UnsafeAuthorizationRequest as exc:
            return _refused(request, exc.message, session)
        except AuthorizationErrorRedirect as exc:
            return RedirectResponse(exc.location(services.settings.issuer), 302)
    if user is None:
        return _login_redirect(_authorize_again_url(request))
    async with services.db.transaction() as conn:
        request_id = await store_request(
            conn, validated, session_hash=session.sid_hash, now=services.clock.now()
        )
    hint = request.query_params.get("organization_hint")
    response = RedirectResponse(_consent_url(request_id, hint), 303)
    set_session_cookie(request, response, session)
    return response


def consent_page_response(
    request: Request,
    view: ConsentView[Any],
    *,
    user: User,
    session: BrowserSession,
    chosen_organizations: set[str] | None = None,
    chosen_scopes: set[str] | None = None,
    error: str | None = None,
    organization_hint: str | None = None,
    chosen_projects: dict[str, list[str]] | None = None,
    form_action: str = CONSENT_PATH,
    user_code: str | None = None,
) -> Response:
    """The consent screen; a device authorization's (RFC 8628) posts its ``user_code``, not a
    request id, to ``form_action``."""
    if chosen_organizations is None:
        chosen_organizations = set(consent.preselected(view, organization_hint))
    if chosen_scopes is None:
        chosen_scopes = {scope.name for scope in view.scopes if scope.default_on}
    granted_names = sorted(view.organization_name(g.organization_id) for g in view.existing_grants)
    response = render(
        request,
        "consent.html",
        {
            "user": user,
            "csrf_token": csrf_token(request, session),
            "view": view,
            "client": view.client,
            "chosen_organizations": chosen_organizations,
            "chosen_scopes": chosen_scopes,
            "already_granted": granted_names,
            "chosen_projects": chosen_projects or {},
            "mode_field": project_choice.mode_field,
            "error": error,
            "form_action": form_action,
            "user_code": user_code,
        },
        status_code=422 if error else 200,
    )
    response.headers.update(_PAGE_HEADERS)
    set_session_cookie(request, response, session)
    return response


@router.get("/consent")
async def consent_page(request: Request) -> Response:
    """The consent screen of the session's pending request."""
    services = services_of(request)
    request_id = request.query_params.get("request_id")
    async with services.db.transaction(readonly=True) as conn:
        session, user = await signed_in_user(request, conn)
        try:
            pending = await consent.load_pending(
                conn, request_id, session_hash=session.sid_hash, now=services.clock.now()
            )
            if user is None:
                response: Response = _login_redirect(_consent_url(pending.id))
                set_session_cookie(request, response, session)
                return response
            view = await consent.consent_view(conn, pending, user.id, services.clock.now())
        except ConsentAnswered as exc:
            if not exc.approved:
                return _refused(request, exc.message, session)
            # Back to the consent page after approving: show the outcome again.
            response = RedirectResponse(_complete_url(request_id or ""), 303)
            set_session_cookie(request, response, session)
            return response
        except ConsentRefused as exc:
            return _refused(request, exc.message, session)
    return consent_page_response(
        request,
        view,
        user=user,
        session=session,
        organization_hint=request.query_params.get("organization_hint"),
    )


def checked_choices(
    request: Request,
    view: ConsentView[Any],
    *,
    user: User,
    session: BrowserSession,
    form: dict[str, list[str]],
    form_action: str = CONSENT_PATH,
    user_code: str | None = None,
) -> tuple[tuple[str, ...], tuple[str, ...], dict[str, Projects]] | Response:
    """The organizations, scopes and projects chosen on the consent form
    (`consent.check_choices`, `project_choice.choose`), or the consent page again, saying what
    is missing; a project the page did not offer is `ConsentRefused`."""
    organization_ids = form.get("organization", [])
    scope_names = form.get("scope", [])
    try:
        chosen_orgs, chosen_scopes = consent.check_choices(view, organization_ids, scope_names)
        chosen = [org for org in view.organizations if org.id in chosen_orgs]
        return chosen_orgs, chosen_scopes, project_choice.choose(form, chosen, view.projects)
    except project_choice.ProjectChoiceError as exc:
        if exc.tampered:
            raise ConsentRefused(exc.message) from exc
        incomplete = exc.message
    except ConsentIncomplete as exc:
        incomplete = exc.message
    return consent_page_response(
        request,
        view,
        user=user,
        session=session,
        chosen_organizations=set(organization_ids),
        chosen_scopes=set(scope_names),
        chosen_projects=form,
        error=incomplete,
        form_action=form_action,
        user_code=user_code,
    )


def single(values: list[str]) -> str | None:
    """A form field's value when it was sent exactly once."""
    return values[0] if len(values) == 1 else None


async def form_values(request: Request) -> dict[str, list[str]]:
    """The submitted form's text fields, each with its values in order."""
    form: dict[str, list[str]] = {}
    for name, value in (await request.form()).multi_items():
        if isinstance(value, str):
            form.setdefault(name, []).append(value)
    return form


async def _answer(
    request: Request,
    conn: AsyncConnection,
    session: BrowserSession,
    user: User,
    form: dict[str, list[str]],
) -> Response:
    services = services_of(request)
    now = services.clock.now()
    pending = await consent.load_pending(
        conn, single(form.get("request_id", [])), session_hash=session.sid_hash, now=now
    )
    view = await consent.consent_view(conn, pending, user.id, now)
    action = single(form.get("action", []))
    if action == "deny":
        location = await consent.deny(
            conn, view, user_id=user.id, now=now, issuer=services.settings.issuer
        )
        return RedirectResponse(location, 303)
    if action != "authorize":
        raise ConsentRefused(
            "The form did not say whether to authorize or deny. "
            "Go back to the app and connect again."
        )
    chosen = checked_choices(request, view, user=user, session=session, form=form)
    if isinstance(chosen, Response):
        return chosen
    chosen_orgs, chosen_scopes, projects = chosen
    await consent.approve(
        conn,
        view,
        user_id=user.id,
        organization_ids=chosen_orgs,
        scope=chosen_scopes,
        now=now,
        settings=services.settings,
        hasher=services.hasher,
        projects=projects,
    )
    return RedirectResponse(_complete_url(pending.id), 303)


@router.post("/consent")
async def consent_answer(request: Request) -> Response:
    """Authorize or Deny. Only the choices come from the form; the rest from the stored request."""
    services = services_of(request)
    form = await form_values(request)
    try:
        async with services.db.transaction() as conn:
            session, user = await signed_in_user(request, conn)
            if not csrf_valid(request, session, single(form.get("csrf_token", []))):
                return render_error(
                    request,
                    403,
                    "This form has expired",
                    "The page was open too long or came from somewhere else. "
                    "Go back to the app and connect again.",
                    headers=_PAGE_HEADERS,
                )
            if user is None:
                return _refused(
                    request,
                    "You were signed out before you answered. "
                    "Go back to the app and connect again.",
                )
            return await _answer(request, conn, session, user, form)
    except ConsentRefused as exc:
        return _refused(request, exc.message)


@router.get("/complete")
async def complete_page(request: Request) -> Response:
    """ "Connection complete": the one way on to the app, with the code, for this session."""
    services = services_of(request)
    async with services.db.transaction(readonly=True) as conn:
        session, user = await signed_in_user(request, conn)
        try:
            completion = await consent.load_completion(
                conn,
                request.query_params.get("request_id"),
                session_hash=session.sid_hash,
                now=services.clock.now(),
                settings=services.settings,
            )
        except ConsentRefused as exc:
            return _refused(request, exc.message, session, after_answer=True)
    response = render(
        request,
        "complete.html",
        {
            "user": user,
            "csrf_token": csrf_token(request, session),
            "completion": completion,
            "client": completion.client,
        },
    )
    response.headers.update(_PAGE_HEADERS)
    set_session_cookie(request, response, session)
    return response
