"""The device authorization grant over HTTP (RFC 8628): the device authorization endpoint and
the ``/device`` page where a signed-in user types (or confirms) the code shown on the device.

``POST /api/auth/mcp/device_authorization`` takes its parameters as the token endpoint
does (form or JSON body, client authentication, the same per-client budget) and answers
with ``Cache-Control: no-store``.

``GET /device`` (``?user_code=`` pre-fills the code, RFC 8628 §3.3.1: the user still
confirms it) asks for the code; ``POST /device`` shows the consent screen of the request
it names; ``POST /device/consent`` records the answer and shows "Connection complete"
— nothing redirects to the client. Both forms are CSRF protected, and every submitted
code counts against two budgets of the rate limiter (`ratelimit`, RFC 8628 §5.1): one
per client address and one per code, each a few tries a minute; past either, a 429 page
with ``Retry-After``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import InvalidRequest, ProtocolError
from i18n_connect.oauth.consent import ConsentRefused
from i18n_connect.oauth.device import (
    DEVICE_PATH,
    normalize_user_code,
    start_device_authorization,
    user_code_hash,
)
from i18n_connect.oauth.device_consent import (
    UserCodeRefused,
    approve_device,
    deny_device,
    device_view,
    pending_by_code,
)
from i18n_connect.platform.accounts import User
from i18n_connect.ratelimit import WINDOW_SECONDS, Budget, spend_token_request
from i18n_connect.web.authorize_routes import (
    checked_choices,
    consent_page_response,
    form_values,
    single,
)
from i18n_connect.web.client_documents import prefetch
from i18n_connect.web.errors import NO_STORE
from i18n_connect.web.identity import client_address, login_redirect, signed_in_user
from i18n_connect.web.oauth_routes import client_error_response, client_request, named_client
from i18n_connect.web.sessions import (
    BrowserSession,
    csrf_token,
    csrf_valid,
    services_of,
    set_session_cookie,
)
from i18n_connect.web.templates import render, render_error

__all__ = ["ADDRESS_TRIES_PER_MINUTE", "CODE_TRIES_PER_MINUTE", "router"]

router = APIRouter(include_in_schema=False)

ADDRESS_TRIES_PER_MINUTE = 10
CODE_TRIES_PER_MINUTE = 5
_CONSENT_PATH = f"{DEVICE_PATH}/consent"
_PAGE_HEADERS = {"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"}
_MAX_TYPED = 20


@router.post("/api/auth/mcp/device_authorization")
async def device_authorization(request: Request) -> Response:
    """RFC 8628 §3.1-§3.2: a device_code, a user_code and where the user types it."""
    services = services_of(request)
    try:
        if request.scope["query_string"]:
            raise InvalidRequest("Parameters go in the request body, not the URL.")
        authorization, params = await client_request(request)
        if (client_id := named_client(authorization, params)) is not None:
            await spend_token_request(  # the token endpoint's budget of this client
                services.api_limiter,
                services.settings,
                client_id=client_id,
                now=services.clock.now(),
            )
        await prefetch(params.get("client_id") or "", services=services)
        async with services.db.transaction() as conn:
            answer = await start_device_authorization(
                conn, services, params=params, authorization=authorization
            )
    except ProtocolError as error:
        return client_error_response(request, error)
    return JSONResponse(answer.body(), headers=NO_STORE)


def _code_page(
    request: Request,
    session: BrowserSession,
    user: User,
    *,
    user_code: str = "",
    error: str | None = None,
    status: int = 200,
) -> Response:
    response = render(
        request,
        "device.html",
        {
            "user": user,
            "csrf_token": csrf_token(request, session),
            "user_code": user_code[:_MAX_TYPED],
            "error": error,
            "denied": False,
        },
        status_code=status,
    )
    response.headers.update(_PAGE_HEADERS)
    set_session_cookie(request, response, session)
    return response


async def _submitted(
    request: Request,
) -> tuple[dict[str, list[str]], BrowserSession, User] | Response:
    """The form, session and user of a submission of a code, counted against the guess
    limits; or the page that refuses it."""
    form = await form_values(request)
    services = services_of(request)
    async with services.db.transaction(readonly=True) as conn:
        session, user = await signed_in_user(request, conn)
    if not csrf_valid(request, session, single(form.get("csrf_token", []))):
        return render_error(
            request,
            403,
            "This form has expired",
            "The page was open too long or came from somewhere else. "
            f"Open {DEVICE_PATH} again and type the code from your device.",
            headers=_PAGE_HEADERS,
        )
    if user is None:
        return render_error(
            request,
            400,
            "You were signed out",
            f"Sign in, open {DEVICE_PATH} again and type the code from your device.",
            headers=_PAGE_HEADERS,
        )
    if (
        refused := await _over_budget(request, single(form.get("user_code", [])) or "")
    ) is not None:
        return refused
    return form, session, user


async def _over_budget(request: Request, typed: str) -> Response | None:
    """Count one try of ``typed`` from this address (RFC 8628 §5.1); the 429 page when either
    budget is spent."""
    services = services_of(request)
    normalized = normalize_user_code(typed) or typed[:_MAX_TYPED]
    digest = user_code_hash(services.hasher, normalized)[:32]  # keyed: no code in the limiter
    exceeded = await services.api_limiter.spend(
        [
            Budget(
                "device_address", f"device-ip:{client_address(request)}", ADDRESS_TRIES_PER_MINUTE
            ),
            Budget("device_code", f"device-code:{digest}", CODE_TRIES_PER_MINUTE),
        ],
        window=WINDOW_SECONDS,
        now=services.clock.now(),
    )
    if exceeded is None:
        return None
    wait = exceeded.retry_after
    return render_error(
        request,
        429,
        "Too many codes",
        f"Too many codes were tried just now. Wait {wait} seconds, then type the code again.",
        headers={**_PAGE_HEADERS, "Retry-After": str(wait)},
    )


@router.get(DEVICE_PATH)
async def device_page(request: Request) -> Response:
    """Ask for the code; a signed-out browser signs in first and comes back here."""
    services = services_of(request)
    async with services.db.transaction(readonly=True) as conn:
        session, user = await signed_in_user(request, conn)
    if user is None:
        return login_redirect(request)
    return _code_page(request, session, user, user_code=request.query_params.get("user_code", ""))


@router.post(DEVICE_PATH)
async def device_code_entered(request: Request) -> Response:
    """The consent screen of the pending request the typed code names."""
    services = services_of(request)
    submitted = await _submitted(request)
    if isinstance(submitted, Response):
        return submitted
    form, session, user = submitted
    typed = single(form.get("user_code", [])) or ""
    async with services.db.transaction(readonly=True) as conn:
        try:
            user_code, pending = await pending_by_code(
                conn, typed, hasher=services.hasher, now=services.clock.now()
            )
            view = await device_view(conn, pending, user.id, services.clock.now())
        except UserCodeRefused as exc:
            return _code_page(
                request, session, user, user_code=typed, error=exc.message, status=400
            )
        except ConsentRefused as exc:
            return _code_page(request, session, user, error=exc.message, status=400)
    return consent_page_response(
        request, view, user=user, session=session, form_action=_CONSENT_PATH, user_code=user_code
    )


async def _answer(
    request: Request,
    conn: AsyncConnection,
    session: BrowserSession,
    user: User,
    form: dict[str, list[str]],
) -> Response:
    services = services_of(request)
    now = services.clock.now()
    user_code, pending = await pending_by_code(
        conn, single(form.get("user_code", [])) or "", hasher=services.hasher, now=now
    )
    view = await device_view(conn, pending, user.id, now)
    action = single(form.get("action", []))
    if action == "deny":
        await deny_device(conn, view, user_id=user.id, now=now)
        response = render(
            request,
            "device.html",
            {
                "user": user,
                "csrf_token": csrf_token(request, session),
                "denied": True,
                "client": view.client,
            },
        )
    elif action == "authorize":
        chosen = checked_choices(
            request,
            view,
            user=user,
            session=session,
            form=form,
            form_action=_CONSENT_PATH,
            user_code=user_code,
        )
        if isinstance(chosen, Response):
            return chosen
        chosen_orgs, chosen_scopes, projects = chosen
        completion = await approve_device(
            conn,
            view,
            user_id=user.id,
            organization_ids=chosen_orgs,
            scope=chosen_scopes,
            now=now,
            projects=projects,
        )
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
    else:
        raise ConsentRefused("The form did not say whether to authorize or deny.")
    response.headers.update(_PAGE_HEADERS)
    set_session_cookie(request, response, session)
    return response


@router.post(_CONSENT_PATH)
async def device_consent_answer(request: Request) -> Response:
    """Authorize or Deny; only the choices and the code come from the form."""
    services = services_of(request)
    submitted = await _submitted(request)
    if isinstance(submitted, Response):
        return submitted
    form, session, user = submitted
    try:
        async with services.db.transaction() as conn:
            return await _answer(request, conn, session, user, form)
    except (UserCodeRefused, ConsentRefused) as exc:
        return _code_page(request, session, user, error=exc.message, status=400)
