"""``POST /api/auth/mcp/register``: dynamic client registration (RFC 7591 §3).

Rate limits are counted per client address in two buckets: one per
(address, redirect host) at ``registration_rate_per_hour``, so that hosted
agents which register one client per user from a shared egress address
(``claude.ai``, ``chatgpt.com``) each get their own budget, and one per address
at ten times that, so that varying the redirect host does not lift the limit.
``registration_enabled=False`` switches the endpoint off (403
``access_denied``); the authorization server metadata then omits
``registration_endpoint``.

``GET``/``PUT``/``DELETE /api/auth/mcp/register/{client_id}`` is the client
configuration endpoint of RFC 7592 (`oauth.client_configuration`); it stays on
when registration is switched off, so that registered clients can still read,
change or delete themselves.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import AccessDenied, InvalidClientMetadata, RateLimited
from i18n_connect.oauth import client_configuration
from i18n_connect.oauth.registration import REGISTRATION_PATH, register
from i18n_connect.services import Services
from i18n_connect.storage import counters
from i18n_connect.unicode_text import UnpairedSurrogate, json_loads
from i18n_connect.web.errors import NO_STORE
from i18n_connect.web.identity import client_address
from i18n_connect.web.sessions import services_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)

CONFIGURATION_PATH = REGISTRATION_PATH + "/{client_id}"  # RFC 7592 §2
MAX_METADATA_BYTES = 16 * 1024
_HOUR = 3600
_ADDRESS_FACTOR = 10


def _redirect_bucket(raw: Any) -> str:
    """A short name for the first redirect URI's destination (host, or private-use scheme)."""
    uris = raw.get("redirect_uris") if isinstance(raw, dict) else None
    first = uris[0] if isinstance(uris, list) and uris and isinstance(uris[0], str) else ""
    try:
        parts = urlsplit(first[:300])
        return (parts.hostname or parts.scheme or "-")[:100]
    except ValueError:  # malformed; the registration itself will say why
        return "-"


async def _check_rate(
    request: Request, services: Services, raw: Any, conn: AsyncConnection
) -> None:
    address = client_address(request)
    limit = services.settings.registration_rate_per_hour
    now = services.clock.now()
    buckets = (
        (f"register:{address}:{_redirect_bucket(raw)}", limit),
        (f"register:{address}", limit * _ADDRESS_FACTOR),
    )
    for key, bucket_limit in buckets:
        wait = await counters.hit(conn, key, limit=bucket_limit, window=_HOUR, now=now)
        if wait is not None:
            raise RateLimited(wait, f"Too many client registrations; retry after {wait} s.")


def _parse(body: bytes) -> Any:
    if len(body) > MAX_METADATA_BYTES:
        raise InvalidClientMetadata("The client metadata is larger than 16 KB.")
    try:
        return json_loads(body)
    except UnpairedSurrogate as exc:
        raise InvalidClientMetadata(str(exc)) from None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidClientMetadata("The body must be a JSON object of client metadata.") from exc


@router.post(REGISTRATION_PATH)
async def register_client(request: Request) -> JSONResponse:
    services = services_of(request)
    if not services.settings.registration_enabled:
        raise AccessDenied(
            "Dynamic client registration is switched off on this server; "
            "ask its operator for a client id."
        )
    raw = _parse(await request.body())
    async with services.db.transaction() as conn:
        await _check_rate(request, services, raw, conn)
    async with services.db.transaction() as conn:
        body = await register(
            conn,
            raw,
            now=services.clock.now(),
            hasher=services.hasher,
            issuer=services.settings.issuer,
        )
    return JSONResponse(body, status_code=201, headers=NO_STORE)


def _registration_token(request: Request) -> str:
    """The Bearer token of the request (RFC 6750 §2.1); empty when there is none."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


@router.get(CONFIGURATION_PATH)
async def read_client(request: Request, client_id: str) -> JSONResponse:
    services = services_of(request)
    async with services.db.transaction(readonly=True) as conn:
        body = await client_configuration.read(
            conn,
            client_id,
            _registration_token(request),
            hasher=services.hasher,
            issuer=services.settings.issuer,
        )
    return JSONResponse(body, headers=NO_STORE)


@router.put(CONFIGURATION_PATH)
async def update_client(request: Request, client_id: str) -> JSONResponse:
    services = services_of(request)
    token = _registration_token(request)
    raw = await request.body()
    async with services.db.transaction() as conn:
        client = await client_configuration.authenticated(
            conn, client_id, token, hasher=services.hasher
        )  # before the body is looked at: a stranger learns nothing from it
        body = await client_configuration.replace(
            conn,
            client,
            token,
            _parse(raw),
            hasher=services.hasher,
            issuer=services.settings.issuer,
            now=services.clock.now(),
        )
    return JSONResponse(body, headers=NO_STORE)


@router.delete(CONFIGURATION_PATH)
async def delete_client(request: Request, client_id: str) -> Response:
    services = services_of(request)
    async with services.db.transaction() as conn:
        await client_configuration.delete(
            conn,
            client_id,
            _registration_token(request),
            hasher=services.hasher,
            now=services.clock.now(),
        )
    return Response(status_code=204, headers=NO_STORE)
