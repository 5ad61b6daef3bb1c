"""Token introspection (RFC 7662 §2): what an authenticated client may learn about its tokens.

Three kinds are recognised: installation tokens (``bi_oat_…``), refresh tokens
(``rt_…``) and access tokens (JWTs for the partner API or an MCP server, `resources`).
Anything unknown, expired, revoked, rotated past its retry window (a used
refresh token stays active while its successor is unused, as at the token
endpoint), backed only by revoked grants, or issued to another client is
``{"active": false}`` and nothing else (§2.2), so introspection tells a client
nothing about other clients' tokens.
``token_type`` is ``Bearer`` for access and installation tokens and
``refresh_token`` for refresh tokens.
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import InvalidToken
from i18n_connect.grants import client_token
from i18n_connect.resources import serves
from i18n_connect.services import Services
from i18n_connect.storage import grants as stored

__all__ = ["INACTIVE", "introspect"]

INACTIVE: dict[str, Any] = {"active": False}
_MAX_TOKEN_LENGTH = 8192


def _epoch(moment: datetime) -> int:
    return int(moment.timestamp())


async def _live_token(
    conn: AsyncConnection,
    kind: Literal["refresh", "installation"],
    token: str,
    client_id: str,
    services: Services,
) -> Any | None:
    """The client's unrevoked, unexpired token of ``kind`` under a live grant, with the grant
    (`grants.client_token`); ``None`` otherwise."""
    row = await client_token(conn, kind, services.hasher.hash(token), client_id)
    if (
        row is None
        or row.revoked_at is not None
        or row.grant_revoked_at is not None
        or row.expires_at <= services.clock.now()
    ):
        return None
    return row


async def _installation_token(
    conn: AsyncConnection, token: str, client_id: str, services: Services
) -> dict[str, Any]:
    row = await _live_token(conn, "installation", token, client_id, services)
    if row is None:
        return INACTIVE
    settings = services.settings
    return {
        "active": True,
        "token_type": "Bearer",
        "scope": row.scope,
        "client_id": row.client_id,
        "sub": row.user_id,
        "iss": settings.issuer,
        "aud": list(settings.resources),
        "iat": _epoch(row.created_at),
        "exp": _epoch(row.expires_at),
        "grant_id": row.grant_id,
        "organization_id": row.organization_id,
        "project_ids": list(row.project_ids),
    }


async def _retry_allowed(conn: AsyncConnection, token_id: str) -> bool:
    """Whether a used refresh token may still be retried: its successor was never used."""
    child = await stored.live_successor(conn, parent_id=token_id)
    return child is not None and child.used_at is None


async def _refresh_token(
    conn: AsyncConnection, token: str, client_id: str, services: Services
) -> dict[str, Any]:
    row = await _live_token(conn, "refresh", token, client_id, services)
    if row is None or (row.used_at is not None and not await _retry_allowed(conn, row.id)):
        return INACTIVE
    body: dict[str, Any] = {
        "active": True,
        "token_type": "refresh_token",
        "scope": row.scope,
        "client_id": row.client_id,
        "sub": row.user_id,
        "iss": services.settings.issuer,
        "iat": _epoch(row.created_at),
        "exp": _epoch(row.expires_at),
        "grant_id": row.grant_id,
        "organization_id": row.organization_id,
    }
    if row.resource is not None:
        body["aud"] = row.resource
    return body


async def _access_token(
    conn: AsyncConnection, token: str, client_id: str, services: Services
) -> dict[str, Any]:
    try:
        claims = await services.tokens.verify_served(
            token, serves=partial(serves, services.settings)
        )
    except InvalidToken:
        return INACTIVE
    if claims.client_id != client_id:
        return INACTIVE
    live = await stored.live_grants_of_access_token(
        conn,
        grant_ids=claims.grant_ids,
        client_id=client_id,
        user_id=claims.sub,
        chain_ids=list(claims.chains.values()),
    )
    if not live:
        return INACTIVE
    order = {grant_id: index for index, grant_id in enumerate(claims.grant_ids)}
    live = sorted(live, key=lambda row: order[row.id])
    return {
        "active": True,
        "token_type": "Bearer",
        "scope": " ".join(claims.scope),
        "client_id": claims.client_id,
        "sub": claims.sub,
        "iss": services.settings.issuer,
        "aud": claims.aud,
        "iat": claims.iat,
        "exp": claims.exp,
        "jti": claims.jti,
        "grant_ids": [row.id for row in live],
        "grant_id": live[0].id,
        "organization_id": live[0].organization_id,
    }


async def introspect(
    conn: AsyncConnection, token: str, *, client_id: str, services: Services
) -> dict[str, Any]:
    """The RFC 7662 §2.2 response for ``token`` as seen by the authenticated ``client_id``.

    ``token_type_hint`` is not needed: the three kinds are told apart by shape.
    """
    if not token or len(token) > _MAX_TOKEN_LENGTH:
        return INACTIVE
    if token.startswith("bi_oat_"):
        return await _installation_token(conn, token, client_id, services)
    if token.startswith("rt_"):
        return await _refresh_token(conn, token, client_id, services)
    return await _access_token(conn, token, client_id, services)
