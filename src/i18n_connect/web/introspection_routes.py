"""``POST /api/auth/mcp/introspect``: token introspection over HTTP (RFC 7662 §2.1, §2.2, §4).

Only confidential clients may introspect (§4: the endpoint requires
authentication, and a public client has nothing to authenticate with); they
use ``client_secret_basic`` or ``client_secret_post``. Parameters come as a
form (or JSON) body like at the token endpoint. Answers are ``no-store``.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from i18n_connect.errors import InvalidClient, InvalidRequest, ProtocolError
from i18n_connect.oauth.client_auth import authenticate_client, client_credentials
from i18n_connect.oauth.introspection import introspect
from i18n_connect.web.errors import NO_STORE
from i18n_connect.web.oauth_routes import client_error_response, client_request
from i18n_connect.web.sessions import services_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


async def _introspection(request: Request) -> dict[str, object]:
    services = services_of(request)
    authorization, params = await client_request(request)
    credentials = client_credentials(authorization, params)
    if credentials.secret is None:
        raise InvalidClient("Introspection needs client authentication with a client secret.")
    token = params.get("token")
    async with services.db.transaction() as conn:
        client = await authenticate_client(
            conn, credentials, hasher=services.hasher, now=services.clock.now()
        )
        if token is None:
            raise InvalidRequest("The token parameter is missing.")
        return await introspect(conn, token, client_id=client.id, services=services)


@router.post("/api/auth/mcp/introspect")
async def introspection(request: Request) -> Response:
    """RFC 7662 §2: whether a token is active, and what it allows."""
    try:
        body = await _introspection(request)
    except ProtocolError as error:
        return client_error_response(request, error)
    return JSONResponse(body, headers=NO_STORE)
