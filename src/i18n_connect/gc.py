"""Garbage collection (SPEC §7 ``gc``): delete what can no longer be used.

- authorization codes, pending authorization requests, device authorizations
  (RFC 8628, answered or not), refresh tokens,
  installation tokens and browser sessions past their expiry, and the refresh
  chains left without a refresh token (every token they issued has expired);
- rate-limit counters of windows that started more than a day ago (the
  longest window in use is an hour, so no limit changes);
- the idempotency keys of partner-API writes past their 24 hours;
- clients that registered themselves (RFC 7591) or were cached from a client
  metadata document, that have not been used for ``unused_days`` (never used:
  counted from their registration) and hold no live grant — a client that a
  user still has a connection with is never deleted behind the user's back;
  and, after the same ``unused_days``, the rows of clients deleted by an operator
  or through RFC 7592 (kept meanwhile so their revoked grants' tokens answer 410).

Revoked but unexpired refresh tokens are kept: reuse detection needs them.
`collect_garbage` works in the caller's one transaction. ``serve`` also collects
by itself (`periodic_collection`, every ``gc_interval_seconds``): each process
runs its own loop, which is safe because every delete is idempotent; a failed
round is logged and the next one tries again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta

import structlog
from sqlalchemy import delete, func, or_
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.background import running, stopping
from i18n_connect.clock import Clock
from i18n_connect.storage import (
    Database,
    authorization_requests,
    codes,
    counters,
    device_authorizations,
    idempotency_keys,
    sessions,
)
from i18n_connect.storage.grants import client_has_live_grant, delete_expired_tokens
from i18n_connect.storage.oauth_tables import oauth_clients

__all__ = [
    "DEFAULT_UNUSED_DAYS",
    "DYNAMIC_ORIGINS",
    "collect_garbage",
    "collect_once",
    "periodic_collection",
]

DEFAULT_UNUSED_DAYS = 30
DYNAMIC_ORIGINS = ("registration", "metadata_document")
_JITTER = 0.25  # each wait is the interval ±25 %, so that processes drift apart
_log = structlog.get_logger("i18n_connect.gc")
_COUNTER_AGE = timedelta(days=1)


async def collect_garbage(
    conn: AsyncConnection, *, now: datetime, unused_days: int
) -> dict[str, int]:
    """Delete expired rows and stale dynamic or deleted clients; the rows gone of each kind."""
    if unused_days < 1:
        raise ValueError("unused_days must be at least 1")
    removed = {"authorization_codes": await codes.delete_expired_codes(conn, now=now)}
    removed.update(await delete_expired_tokens(conn, now=now))
    removed["authorization_requests"] = await authorization_requests.delete_expired_requests(
        conn, now=now
    )
    removed["device_authorizations"] = await device_authorizations.delete_expired(conn, now=now)
    removed["browser_sessions"] = await sessions.delete_expired_sessions(conn, now=now)
    cutoff = now - timedelta(days=unused_days)
    # checked in the DELETE itself, so a grant made meanwhile keeps its client
    live_grant = client_has_live_grant(oauth_clients.c.id)
    result = await conn.execute(
        delete(oauth_clients).where(
            or_(
                oauth_clients.c.origin.in_(DYNAMIC_ORIGINS), oauth_clients.c.deleted_at.is_not(None)
            ),
            func.coalesce(oauth_clients.c.last_used_at, oauth_clients.c.created_at) < cutoff,
            ~live_grant,
        )
    )
    removed["clients"] = int(result.rowcount or 0)
    removed["rate_counters"] = await counters.purge(conn, before=now - _COUNTER_AGE)
    removed["idempotency_keys"] = await idempotency_keys.delete_expired(conn, now=now)
    return removed


async def collect_once(
    db: Database, clock: Clock, *, unused_days: int = DEFAULT_UNUSED_DAYS
) -> dict[str, int]:
    """One collection in its own transaction, as ``i18n-connect gc`` does."""
    async with db.transaction() as conn:
        return await collect_garbage(conn, now=clock.now(), unused_days=unused_days)


async def _collect_forever(db: Database, clock: Clock, interval_seconds: float) -> None:
    while True:
        await asyncio.sleep(interval_seconds * random.uniform(1 - _JITTER, 1 + _JITTER))  # noqa: S311
        try:
            removed = await collect_once(db, clock)
        except Exception as exc:  # the database may be away for a while: try again next time
            _log.warning("gc.failed", error=type(exc).__name__, detail=str(exc)[:200])
            if stopping():
                return
        else:
            _log.info("gc.collected", **removed)


@asynccontextmanager
async def periodic_collection(
    db: Database, clock: Clock, *, interval_seconds: float
) -> AsyncIterator[None]:
    """Collect every ``interval_seconds`` (about) while the block runs; ``0``: never."""
    if interval_seconds <= 0:
        yield
        return
    async with running(_collect_forever(db, clock, interval_seconds), name="gc"):
        yield
