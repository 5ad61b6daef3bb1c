"""Who calls the MCP server: bearer-token verification for ``/mcp`` and ``/mcp/o/{org_slug}``
(RFC 6750 §2.1, RFC 8707, MCP authorization 2025-11-25).

Two credentials are accepted, in the ``Authorization: Bearer`` header or —
installation tokens only — in ``x-api-key``:

- an installation token (``bi_oat_…``): the caller acts in that token's one
  organization with its scopes and project limits;
- an access token whose audience is the MCP resource: the caller acts through
  the token's live grants, each with the token's scopes narrowed to the grant's.
  The client's token is never forwarded anywhere: tools work on an
  `Installation` built from the grant, exactly what an installation token of
  that grant would carry.

At ``/mcp/o/{org_slug}`` the caller acts in that organization only: an access
token must have been issued for that address (its audience), and an
installation token of another organization is refused as the partner API
refuses it (403 ``wrong_organization``, or 404 for an unknown slug).

A token in the query string, a token for another audience, an expired,
forged or revoked one — also an access token whose refresh chain has ended
(`oauth.chains`) — is ``invalid_token``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import access, installations
from i18n_connect.errors import InvalidRequest, InvalidToken
from i18n_connect.resources import mcp_organization_resource
from i18n_connect.services import Services
from i18n_connect.storage import grants as stored
from i18n_connect.storage.organizations import get_organization

__all__ = ["Installation", "McpCaller", "authenticate", "bearer_token"]

INSTALLATION_PREFIX = "bi_oat_"


@dataclass(frozen=True, slots=True)
class Installation:
    """One organization the caller may act in, and how."""

    grant_id: str
    organization_id: str
    organization_slug: str
    project_ids: tuple[str, ...]  # the token's; empty: every project
    scopes: frozenset[str]
    last_used_at: datetime | None  # of the grant
    grant_project_ids: tuple[str, ...] | None = None  # the grant's now; None: every project

    def allows_project(self, project_id: str) -> bool:
        return (not self.project_ids or project_id in self.project_ids) and (
            self.grant_project_ids is None or project_id in self.grant_project_ids
        )


@dataclass(frozen=True, slots=True)
class McpCaller:
    kind: Literal["installation", "access_token"]
    token_id: str  # the installation token's id or the access token's jti: the rate-limit key
    client_id: str
    scopes: frozenset[str]  # what the presented token holds
    installations: tuple[Installation, ...]


def bearer_token(headers: Mapping[str, str], query: Mapping[str, str]) -> str | None:
    """The presented token, ``None`` when there is none; `InvalidToken` when it is malformed or
    came in the query string (RFC 6750 §2.3 is not offered)."""
    if "access_token" in query:
        raise InvalidToken("Tokens are not accepted in the query string; use the header.")
    authorization = headers.get("authorization")
    api_key = headers.get("x-api-key")
    if authorization is not None and api_key is not None:
        raise InvalidRequest("Send the token in one header only.")
    if api_key is not None:
        if not api_key.startswith(INSTALLATION_PREFIX):
            raise InvalidToken("x-api-key takes an installation token (bi_oat_...).")
        return api_key
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise InvalidToken("A bearer token is required.")
    return token.strip()


async def _slugs(conn: AsyncConnection, organization_ids: list[str]) -> dict[str, str]:
    """The slug of each of these organizations that exists, by id: one prepared lookup per
    organization (a token covers one or a few), as every request is authenticated."""
    slugs = {}
    for organization_id in dict.fromkeys(organization_ids):
        found = await get_organization(conn, organization_id=organization_id)
        if found is not None:
            slugs[found.id] = found.slug
    return slugs


async def _from_installation_token(
    conn: AsyncConnection, token: str, services: Services, organization_slug: str | None
) -> McpCaller:
    context = await installations.authenticate(
        conn, token, now=services.clock.now(), hasher=services.hasher
    )
    slugs = await _slugs(conn, [context.organization_id])
    scopes = frozenset(context.scopes)
    installation = Installation(
        grant_id=context.grant_id,
        organization_id=context.organization_id,
        organization_slug=slugs.get(context.organization_id, ""),
        project_ids=tuple(context.project_ids),
        scopes=scopes,
        last_used_at=context.grant_last_used_at,
        grant_project_ids=context.grant_project_ids,
    )
    if organization_slug not in (None, installation.organization_slug):
        # another organization's endpoint: 404 or 403 wrong_organization, as the partner API
        await access.organization_by_slug(conn, installation, organization_slug)
    return McpCaller("installation", context.token_id, context.client_id, scopes, (installation,))


async def _from_access_token(
    conn: AsyncConnection, token: str, services: Services, organization_slug: str | None
) -> McpCaller:
    settings = services.settings
    audience = (
        settings.mcp_resource
        if organization_slug is None
        else mcp_organization_resource(settings, organization_slug)
    )
    claims = await services.tokens.verify(token, audience=audience)
    rows = await stored.live_grants_of_access_token(
        conn,
        grant_ids=claims.grant_ids,
        client_id=claims.client_id,
        user_id=claims.sub,
        chain_ids=list(claims.chains.values()),
    )
    if not rows:
        raise InvalidToken(
            "Every grant behind this access token was revoked, or the refresh chain it was "
            "issued from has ended."
        )
    order = {grant_id: index for index, grant_id in enumerate(claims.grant_ids)}
    slugs = await _slugs(conn, [row.organization_id for row in rows])
    held = frozenset(claims.scope)
    acting = tuple(
        Installation(
            grant_id=row.id,
            organization_id=row.organization_id,
            organization_slug=slugs.get(row.organization_id, ""),
            project_ids=(),
            scopes=held & frozenset(row.scope.split()),
            last_used_at=row.last_used_at,
            grant_project_ids=None if row.project_ids is None else tuple(row.project_ids),
        )
        for row in sorted(rows, key=lambda row: order[row.id])
        if organization_slug in (None, slugs.get(row.organization_id))
    )
    if not acting:  # none of its live grants is on this organization
        raise InvalidToken("The access token covers no grant on this organization.")
    return McpCaller("access_token", claims.jti, claims.client_id, held, acting)


async def authenticate(
    conn: AsyncConnection, token: str, services: Services, organization_slug: str | None = None
) -> McpCaller:
    """The caller behind ``token`` at ``/mcp``, or at ``/mcp/o/{organization_slug}`` acting in
    that organization only; `InvalidToken` (or `GrantRevoked`) otherwise."""
    if token.startswith(INSTALLATION_PREFIX):
        return await _from_installation_token(conn, token, services, organization_slug)
    return await _from_access_token(conn, token, services, organization_slug)
