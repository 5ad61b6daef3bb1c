"""Client ID Metadata Documents at the edge: fetch before the request's transaction, then
store in a transaction of its own (`oauth.metadata_documents`)."""

from __future__ import annotations

from i18n_connect.oauth.metadata_documents import fetch_client, is_cached, may_fetch, store_client
from i18n_connect.services import Services

__all__ = ["prefetch"]


async def prefetch(client_id: str, *, services: Services) -> None:
    """Fetch and store the document of ``client_id`` when it is a metadata document URL whose
    cached copy is missing or stale; call it *before* opening the request's transaction."""
    now = services.clock.now()
    if not may_fetch(client_id, services=services, now=now):
        return
    async with services.db.transaction(readonly=True) as conn:
        if await is_cached(conn, client_id, now=now):
            return
    fetched = await fetch_client(client_id, services=services, now=now)
    if fetched is not None:
        async with services.db.transaction() as conn:
            await store_client(conn, fetched, now=now)
