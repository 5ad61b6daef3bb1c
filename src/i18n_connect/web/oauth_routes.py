"""The token endpoint, the signing keys and the authorization server metadata over HTTP
(RFC 6749 §3.2, RFC 7517 §5, RFC 8414 §3).

The token endpoint takes ``application/x-www-form-urlencoded`` or JSON bodies,
parameters in the body only, each at most once (RFC 6749 §3.2); an empty value
counts as omitted (§3.1). Each client may make ``token_rate_per_minute`` requests a
minute (counted by the ``client_id`` it names, before any database work; then 429
``rate_limited`` with ``Retry-After``). Every answer is ``Cache-Control: no-store``; an
``invalid_client`` caused by HTTP Basic carries ``WWW-Authenticate: Basic``
(§5.2).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.routing import Route

from i18n_connect.errors import InvalidClient, InvalidRequest, ProtocolError
from i18n_connect.oauth.client_auth import client_credentials, uses_basic
from i18n_connect.oauth.metadata import authorization_server_metadata
from i18n_connect.oauth.token import token_request
from i18n_connect.ratelimit import spend_token_request
from i18n_connect.unicode_text import UnpairedSurrogate, json_loads
from i18n_connect.web.client_documents import prefetch
from i18n_connect.web.errors import NO_STORE, error_response
from i18n_connect.web.sessions import services_of

__all__ = [
    "client_error_response",
    "client_request",
    "named_client",
    "parse_token_body",
    "router",
    "token_route",
]

router = APIRouter(include_in_schema=False)

MAX_TOKEN_BODY_BYTES = 16 * 1024
_MAX_FIELDS = 32
_BASIC_CHALLENGE = 'Basic realm="i18n-connect", charset="UTF-8"'
_ANY_ORIGIN = {"Access-Control-Allow-Origin": "*"}  # no cookies here: browser-based clients too
_PUBLIC_CACHE = {"Cache-Control": "public, max-age=300", **_ANY_ORIGIN}
_PREFLIGHT = {
    **_ANY_ORIGIN,
    "Access-Control-Allow-Methods": "POST",
    "Access-Control-Allow-Headers": "Authorization, Content-Type",
    "Access-Control-Max-Age": "600",
}


class _Pairs(list[tuple[str, Any]]):
    """The members of one JSON object, in order, duplicates kept."""


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    seen: dict[str, Any] = {}
    for name, value in pairs:
        if name in seen:
            raise InvalidRequest(f"The {name} parameter is repeated.")
        seen[name] = value
    return seen


def parse_token_body(content_type: str, body: bytes) -> dict[str, str]:
    """The parameters of a token request; `InvalidRequest` for any malformed or repeated one."""
    if len(body) > MAX_TOKEN_BODY_BYTES:
        raise InvalidRequest("The request body is larger than 16 KB.")
    media_type = content_type.split(";", 1)[0].strip().lower()
    if media_type == "application/x-www-form-urlencoded":
        try:
            pairs: list[tuple[str, Any]] = parse_qsl(
                body.decode("ascii"),
                keep_blank_values=True,
                strict_parsing=bool(body),
                errors="strict",
                max_num_fields=_MAX_FIELDS,
            )
        except (UnicodeError, ValueError) as exc:
            raise InvalidRequest("The form body is malformed.") from exc
    elif media_type == "application/json":
        try:
            raw = json_loads(body, object_pairs_hook=_Pairs)
        except UnpairedSurrogate as exc:
            raise InvalidRequest(str(exc)) from None
        except (UnicodeError, ValueError, RecursionError) as exc:
            raise InvalidRequest("The JSON body is malformed.") from exc
        if not isinstance(raw, _Pairs) or len(raw) > _MAX_FIELDS:
            raise InvalidRequest("The JSON body must be an object of parameters.")
        pairs = raw
    else:
        raise InvalidRequest("Send the parameters as application/x-www-form-urlencoded.")
    params = _no_duplicates(pairs)
    if not all(isinstance(value, str) for value in params.values()):
        raise InvalidRequest("Every parameter must be a string.")
    return {name: value for name, value in params.items() if value != ""}


async def client_request(request: Request) -> tuple[str | None, dict[str, str]]:
    """The Authorization header (at most one) and the body parameters of a client's request
    to the token, introspection or revocation endpoint."""
    authorizations = request.headers.getlist("authorization")
    if len(authorizations) > 1:
        raise InvalidRequest("The Authorization header is repeated.")
    params = parse_token_body(request.headers.get("content-type", ""), await request.body())
    return (authorizations[0] if authorizations else None), params


def client_error_response(
    request: Request, error: ProtocolError, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The error answer to a client's request; an ``invalid_client`` caused by HTTP Basic
    carries ``WWW-Authenticate: Basic`` (RFC 6749 §5.2)."""
    sent = dict(headers or {})
    if isinstance(error, InvalidClient) and uses_basic(request.headers.get("authorization")):
        sent["WWW-Authenticate"] = _BASIC_CHALLENGE
    return error_response(error, headers=sent or None)


def named_client(authorization: str | None, params: dict[str, str]) -> str | None:
    """The client id a token request names, nothing checked yet; a request with malformed
    credentials names its body's ``client_id``, if any (it fails before any database work)."""
    try:
        return client_credentials(authorization, params).client_id
    except ProtocolError:
        return params.get("client_id")


async def _token_outcome(request: Request) -> dict[str, Any]:
    services = services_of(request)
    if request.scope["query_string"]:
        raise InvalidRequest("Token request parameters go in the request body, not the URL.")
    authorization, params = await client_request(request)
    if (client_id := named_client(authorization, params)) is not None:
        await spend_token_request(  # before any database work or metadata-document fetch
            services.api_limiter, services.settings, client_id=client_id, now=services.clock.now()
        )
    await prefetch(params.get("client_id") or "", services=services)  # network, before it too
    async with services.db.transaction() as conn:
        outcome = await token_request(
            conn,
            services,
            params=params,
            authorization=authorization,
        )
    if isinstance(outcome, ProtocolError):
        raise outcome  # its revocations are committed
    return outcome.body()


async def token(request: Request) -> Response:
    """RFC 6749 §3.2: exchange a code or a refresh token."""
    try:
        body = await _token_outcome(request)
    except ProtocolError as error:
        return client_error_response(request, error, dict(_ANY_ORIGIN))
    return JSONResponse(body, headers={**NO_STORE, **_ANY_ORIGIN})


# A plain Starlette route: one of the app's hot routes (`web.hot_routes`).
token_route = Route("/api/auth/mcp/token", token, methods=["POST"])


@router.options("/api/auth/mcp/token")
async def token_preflight() -> Response:
    """CORS preflight: browser-based MCP clients call the token endpoint directly."""
    return Response(status_code=204, headers=_PREFLIGHT)


@router.get("/api/auth/mcp/jwks")
async def jwks(request: Request) -> JSONResponse:
    """The public signing keys (RFC 7517 §5): current, and retired ones still in use."""
    keys = services_of(request).keys
    return JSONResponse(await keys.jwks(), headers=_PUBLIC_CACHE)


@router.get("/.well-known/oauth-authorization-server")
async def metadata(request: Request) -> JSONResponse:
    """RFC 8414 §3 authorization server metadata."""
    document = authorization_server_metadata(services_of(request).settings)
    return JSONResponse(document, headers=_PUBLIC_CACHE)
