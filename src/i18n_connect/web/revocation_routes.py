"""``POST /api/auth/mcp/revoke``: token revocation over HTTP (RFC 7009 §2.1, §2.2, §2.2.1).

The client authenticates as at the token endpoint (``client_secret_basic``,
``client_secret_post``, or ``none`` with its ``client_id`` for public
clients); parameters come as a form (or JSON) body. Whatever the token — its
own, another client's, unknown, already revoked — the answer is an empty 200
with ``Cache-Control: no-store``. Only a failed client authentication (401
``invalid_client``) or a missing ``token`` (400 ``invalid_request``) is an error.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from i18n_connect.api.metrics import grant_metrics
from i18n_connect.errors import InvalidRequest, ProtocolError
from i18n_connect.oauth.client_auth import authenticate_client, client_credentials
from i18n_connect.oauth.revocation import revoke
from i18n_connect.web.errors import NO_STORE
from i18n_connect.web.oauth_routes import client_error_response, client_request
from i18n_connect.web.sessions import services_of

__all__ = ["router"]

router = APIRouter(include_in_schema=False)


async def _revocation(request: Request) -> str | None:
    services = services_of(request)
    authorization, params = await client_request(request)
    credentials = client_credentials(authorization, params)
    now = services.clock.now()
    async with services.db.transaction() as conn:
        client = await authenticate_client(conn, credentials, hasher=services.hasher, now=now)
        token = params.get("token")
        if token is None:
            raise InvalidRequest("The token parameter is missing.")
        return await revoke(
            conn,
            token,
            hint=params.get("token_type_hint"),
            client_id=client.id,
            now=now,
            hasher=services.hasher,
        )


@router.post("/api/auth/mcp/revoke")
async def revocation(request: Request) -> Response:
    """RFC 7009 §2.1: revoke a refresh or installation token of the authenticated client."""
    try:
        revoked = await _revocation(request)
    except ProtocolError as error:
        return client_error_response(request, error)
    if revoked is not None:
        grant_metrics(request).tokens_revoked.labels(kind=revoked).inc()
    return Response(status_code=200, headers=NO_STORE)
