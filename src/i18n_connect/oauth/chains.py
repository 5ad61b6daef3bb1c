"""Refresh chains (RFC 9700 §4.14.2): one rotation chain per code exchange and grant — one per
device that connected — each rotated, reuse-detected and ended on its own.

A chain ends for a reason: ``reuse`` (a used refresh token came back outside
what rotation allows), ``revoked`` (RFC 7009) or ``limit`` (a grant keeps at
most ``limit`` live chains; a new device drops the least recently refreshed).
Ending a chain revokes its refresh tokens and the installation tokens minted
with its access tokens; access tokens name their chain per grant (the
``chains`` claim) and every database check of an access token
(in `storage.grants`) refuses a grant whose chain has ended. Revoking the grant
ends every chain of it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit
from i18n_connect.ids import new_id
from i18n_connect.oauth.access_tokens import AccessTokenClaims
from i18n_connect.storage import grants as stored

__all__ = [
    "REFUSALS",
    "end_beyond_limit",
    "end_chain",
    "ended_grants",
    "new_chain",
]

REFUSALS = {
    "reuse": (
        "A refresh token of this chain was used twice; every token issued from the chain "
        "(refresh, access and installation tokens) is revoked. Authorize again."
    ),
    "revoked": "The refresh token was revoked.",
    "limit": (
        "The refresh token's chain was ended: the user connected more devices to this grant "
        "than it keeps. Authorize again."
    ),
}


async def ended_grants(conn: AsyncConnection, claims: AccessTokenClaims) -> set[str]:
    """The grants of the access token whose chain has ended."""
    if not claims.chains:
        return set()
    rows = await stored.ended_chains(conn, chain_ids=list(claims.chains.values()))
    return {row.grant_id for row in rows if claims.chains.get(row.grant_id) == row.id}


async def end_chain(conn: AsyncConnection, chain_id: str, *, now: datetime, reason: str) -> bool:
    """End a live chain: it, its refresh tokens and the installation tokens minted with its
    access tokens are revoked; ``False`` if it had already ended."""
    return await stored.end_chain(conn, chain_id=chain_id, now=now, reason=reason)


async def end_beyond_limit(
    conn: AsyncConnection, grant: Any, chain_ids: list[str], *, keep: int, now: datetime
) -> None:
    """End the grant's live chains past the ``keep`` most recently refreshed (``chain_ids``,
    found as a new chain starts), each audited as dropped by the client (``id``, ``user_id``,
    ``client_id`` and ``organization_id`` of ``grant``)."""
    for chain_id in chain_ids:
        if await end_chain(conn, chain_id, now=now, reason="limit"):
            await audit.record(
                conn,
                action="token.refresh_chain_dropped",
                actor=grant.client_id,
                now=now,
                user_id=grant.user_id,
                client_id=grant.client_id,
                organization_id=grant.organization_id,
                grant_id=grant.id,
                detail={"chain_id": chain_id, "reason": "limit", "kept": keep},
            )


async def new_chain(
    conn: AsyncConnection, grant_id: str, *, code_id: str | None, now: datetime
) -> str:
    """Insert a live chain of the grant, outside the per-grant limit; its id."""
    chain_id = new_id("rch")
    await stored.insert_chain(conn, chain_id=chain_id, grant_id=grant_id, code_id=code_id, now=now)
    return chain_id
