"""Who is calling the partner API (SPEC §4, RFC 6750 §2.1): the bearer credential, checked on
every request against the database.

Resource routes take an installation token, as ``Authorization: Bearer
bi_oat_…`` or ``x-api-key: bi_oat_…``; a token in the query string is never
read (RFC 6750 §2.3 is not supported). The installation routes and ``/me``
take the OAuth access token as a Bearer header only. The wrong kind of token
is a 401 ``invalid_token`` that says which kind the route wants.

`installation_call(request, scope)` opens the request's one transaction,
authenticates the token in it (one indexed query: a revoked grant answers 410
on the very next request, on every process), counts the request against the
budgets of its token, grant and client (`ratelimit`), checks the route's scope
and yields everything the handler needs;
`installation_caller(scope)` is the same as a dependency. Use it with
``scope="function"`` so the transaction commits before the response is sent.

`write_caller(request)` names who sends a write, for its ``Idempotency-Key``
(`api.idempotency`): the grant of an installation token, the grant in the path of an
access-token route, or the client of a client-credential route.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import installations
from i18n_connect.access import require_scope
from i18n_connect.errors import InvalidToken, ProtocolError
from i18n_connect.installations import InstallationContext
from i18n_connect.oauth.access_tokens import AccessTokenClaims
from i18n_connect.oauth.client_auth import authenticate_client, client_credentials, uses_basic
from i18n_connect.ratelimit import spend_api_request
from i18n_connect.services import Services
from i18n_connect.web.sessions import services_of

__all__ = [
    "AccessToken",
    "Caller",
    "access_token_claims",
    "access_token_of",
    "installation_call",
    "installation_caller",
    "installation_write_caller",
    "presented_token",
    "token_security",
    "write_caller",
]

MINT_HINT = (
    "This route needs an installation token (bi_oat_...): mint one with "
    "POST /api/oauth-client/installations/{grant_id}/tokens using your access token."
)
_ACCESS_HINT = (
    "This route needs the OAuth access token; an installation token cannot mint tokens "
    "or manage grants."
)

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An installation token (bi_oat_…) or, where noted, the OAuth access token.",
)
_api_key = APIKeyHeader(
    name="x-api-key",
    auto_error=False,
    scheme_name="apiKey",
    description="An installation token (bi_oat_…).",
)


@dataclass(frozen=True, slots=True)
class Caller:
    """An authenticated installation-token request, inside its transaction."""

    conn: AsyncConnection
    context: InstallationContext
    services: Services
    now: datetime


def _presented(bearer: str | None, api_key: str | None) -> str:
    token = bearer.strip() if bearer is not None else (api_key or "").strip()
    if not token:
        raise InvalidToken(
            "An installation token is required (Authorization: Bearer or x-api-key)."
        )
    if not installations.looks_like_installation_token(token):
        if token.count(".") == 2:  # a JWT: the OAuth access token
            raise InvalidToken(MINT_HINT)
        raise InvalidToken(log_detail="not an installation token")
    return token


def _bearer_credentials(request: Request) -> str | None:
    """What `_bearer` finds in ``Authorization`` (RFC 6750 §2.1), without the dependency."""
    return _bearer_of(request.headers.get("authorization"))


def _bearer_of(authorization: str | None) -> str | None:
    scheme, credentials = get_authorization_scheme_param(authorization)
    if not (authorization and scheme and credentials) or scheme.lower() != "bearer":
        return None
    return credentials


def presented_token(request: Request) -> str:
    """The installation token of the request's headers, checked for its form only (no
    database): a request without one is refused before its body is read. The first
    ``Authorization`` and ``x-api-key`` count, as `Request.headers` finds them, in one pass."""
    authorization = api_key = None
    for name, value in request.scope["headers"]:
        if name == b"authorization" and authorization is None:
            authorization = value.decode("latin-1")
        elif name == b"x-api-key" and api_key is None:
            api_key = value.decode("latin-1")
    return _presented(_bearer_of(authorization), api_key or None)


def token_security(
    _bearer_token: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
    _api_key_token: Annotated[str | None, Security(_api_key)],
) -> None:
    """Declares the installation-token schemes in OpenAPI for routes that authenticate
    inside their handler (`installation_call`)."""


@asynccontextmanager
async def installation_call(
    request: Request, scope: str, *, write: bool = False, token: str | None = None
) -> AsyncIterator[Caller]:
    """The `Caller` of a request that needs ``scope``, inside the request's transaction;
    ``token`` is read from the headers unless given."""
    if token is None:
        token = presented_token(request)
    services = services_of(request)
    now = services.clock.now()
    async with services.db.transaction(readonly=not write) as conn:
        context = await installations.authenticate(conn, token, now=now, hasher=services.hasher)
        await spend_api_request(  # the same budgets as MCP
            services.api_limiter,
            services.settings,
            token_id=context.token_id,
            grant_ids=(context.grant_id,),
            client_id=context.client_id,
            now=now,
        )
        require_scope(context.scopes, scope)
        yield Caller(conn=conn, context=context, services=services, now=now)
    last = context.grant_last_used_at
    if last is None or now - last >= installations.LAST_USED_RESOLUTION:
        async with services.db.transaction() as conn:
            await installations.touch_grant(conn, context.grant_id, now)


def installation_caller(scope: str, *, write: bool = False) -> Callable[..., AsyncIterator[Caller]]:
    """A dependency yielding the `Caller` of a route that needs ``scope``."""

    async def dependency(
        request: Request,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
        api_key: Annotated[str | None, Security(_api_key)],
    ) -> AsyncIterator[Caller]:
        token = _presented(bearer.credentials if bearer is not None else None, api_key)
        async with installation_call(request, scope, write=write, token=token) as caller:
            yield caller

    return dependency


async def access_token_claims(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(_bearer)],
) -> AccessTokenClaims:
    """The verified claims of the OAuth access token (audience: the partner API)."""
    return await _verified_access_token(request, bearer.credentials if bearer is not None else "")


async def access_token_of(request: Request) -> AccessTokenClaims:
    """`access_token_claims` of a request, without the dependency (`web.hot_routes`)."""
    return await _verified_access_token(request, _bearer_credentials(request) or "")


async def _verified_access_token(request: Request, credentials: str) -> AccessTokenClaims:
    token = credentials.strip()
    if not token:
        raise InvalidToken("An OAuth access token is required (Authorization: Bearer).")
    if token.startswith(installations.TOKEN_PREFIX):
        raise InvalidToken(_ACCESS_HINT)
    services = services_of(request)
    return await services.tokens.verify(token, audience=services.settings.api_resource)


AccessToken = Annotated[AccessTokenClaims, Depends(access_token_claims)]

_GRANT_PATH = re.compile(r"/api/oauth-client/installations/([^/]+)")


def installation_write_caller(context: InstallationContext) -> str:
    """The caller of an installation token's writes: its grant and what the token may reach
    (its scopes and projects as minted, and the grant's projects as they are now), so that a
    narrower token of the grant, or any token after the grant was narrowed, never receives
    the kept answer of a wider one."""
    grant_projects = context.grant_project_ids
    reach = "|".join(
        (
            " ".join(sorted(context.scopes)),
            " ".join(sorted(context.project_ids)),
            "*" if grant_projects is None else " ".join(sorted(grant_projects)),
        )
    )
    digest = hashlib.sha256(reach.encode()).hexdigest()[:16]
    return f"grant:{context.grant_id}/{digest}"


async def write_caller(request: Request) -> str | None:
    """Who sends a partner-API write, proven by its credentials in a short read-only
    transaction: ``grant:<id>/<reach>`` for an installation token (`installation_write_caller`),
    ``grant:<id>`` for the OAuth access token on ``/installations/{grant_id}`` when it covers
    that grant, ``client:<client_id>``
    for HTTP Basic client credentials (the webhook routes). ``None`` when the credentials
    prove nobody; the route itself then answers them as it always does."""
    services = services_of(request)
    now = services.clock.now()
    authorization = request.headers.get("authorization")
    try:
        if authorization is not None and uses_basic(authorization):
            credentials = client_credentials(authorization, {})
            if credentials.secret is None:
                return None
            async with services.db.transaction(readonly=True) as conn:
                client = await authenticate_client(
                    conn, credentials, hasher=services.hasher, now=now, stamp=False
                )
            return "client:" + client.id
        bearer = _bearer_credentials(request)
        token = (bearer or request.headers.get("x-api-key") or "").strip()
        if installations.looks_like_installation_token(token):
            async with services.db.transaction(readonly=True) as conn:
                context = await installations.authenticate(
                    conn, token, now=now, hasher=services.hasher
                )
            return installation_write_caller(context)
        grant_path = _GRANT_PATH.fullmatch(request.url.path)
        if bearer is None or grant_path is None:
            return None
        claims = await services.tokens.verify(bearer, audience=services.settings.api_resource)
    except ProtocolError:
        return None
    grant_id = grant_path.group(1)
    return "grant:" + grant_id if grant_id in claims.grant_ids else None
