"""Garbage collection (SPEC §7 ``gc``): delete what can no longer be used.

- authorization codes, pending authorization requests, refresh tokens,
  installation tokens and browser sessions past their expiry, and the refresh
  chains left without a refresh token (every token they issued has expired);
- rate-limit counters of windows that started more than a day ago (the
  longest window in use is an hour, so no limit changes);
- clients that registered themselves (RFC 7591) or were cached from a client
  metadata document, that have not been used for ``unused_days`` (never used:
  counted from their registration) and hold no live grant — a client that a
  user still has a connection with is never deleted behind the user's back.

Revoked but unexpired refresh tokens are kept: reuse detection needs them.
Everything happens in the caller's one transaction.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import Table, and_, delete, exists, func
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage import counters
from i18n_connect.storage.oauth_tables import (
    authorization_codes,
    authorization_requests,
    grants,
    installation_tokens,
    oauth_clients,
    refresh_chains,
    refresh_tokens,
)
from i18n_connect.storage.tables import browser_sessions

__all__ = ["DYNAMIC_ORIGINS", "collect_garbage"]

DYNAMIC_ORIGINS = ("registration", "metadata_document")
_COUNTER_AGE = timedelta(days=1)
_EXPIRING: tuple[tuple[str, Table], ...] = (
    ("authorization_codes", authorization_codes),
    ("authorization_requests", authorization_requests),
    ("refresh_tokens", refresh_tokens),
    ("installation_tokens", installation_tokens),
    ("browser_sessions", browser_sessions),
)


async def collect_garbage(
    conn: AsyncConnection, *, now: datetime, unused_days: int
) -> dict[str, int]:
    """Delete expired rows and stale dynamic clients; how many rows of each kind went."""
    if unused_days < 1:
        raise ValueError("unused_days must be at least 1")
    removed: dict[str, int] = {}
    for name, table in _EXPIRING:
        result = await conn.execute(delete(table).where(table.c.expires_at <= now))
        removed[name] = int(result.rowcount or 0)
    result = await conn.execute(
        delete(refresh_chains).where(
            ~exists().where(refresh_tokens.c.chain_id == refresh_chains.c.id)
        )
    )
    removed["refresh_chains"] = int(result.rowcount or 0)
    cutoff = now - timedelta(days=unused_days)
    live_grant = exists().where(
        and_(grants.c.client_id == oauth_clients.c.id, grants.c.revoked_at.is_(None))
    )  # checked in the DELETE itself, so a grant made meanwhile keeps its client
    result = await conn.execute(
        delete(oauth_clients).where(
            oauth_clients.c.origin.in_(DYNAMIC_ORIGINS),
            func.coalesce(oauth_clients.c.last_used_at, oauth_clients.c.created_at) < cutoff,
            ~live_grant,
        )
    )
    removed["clients"] = int(result.rowcount or 0)
    removed["rate_counters"] = await counters.purge(conn, before=now - _COUNTER_AGE)
    return removed
