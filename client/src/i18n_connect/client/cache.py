"""A cache of installation tokens keyed by (grant, organization) (partner guide, "7. Installation
tokens and caching").

A token is reused until 60 seconds before it expires, then renewed. Callers
that ask for the same key at the same time share one mint (single flight,
one ``asyncio.Lock`` per key), so 100 concurrent requests cost one mint.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

from i18n_connect.client.models import InstallationToken

__all__ = ["InstallationTokenCache", "Mint"]

Mint = Callable[[], Awaitable[InstallationToken]]
CacheKey = tuple[str, str]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class InstallationTokenCache:
    """Installation tokens per (grant_id, organization_id), renewed ``margin`` before expiry."""

    def __init__(
        self,
        *,
        now: Callable[[], datetime] = _utc_now,
        margin: timedelta = timedelta(seconds=60),
    ) -> None:
        self._now = now
        self._margin = margin
        self._tokens: dict[CacheKey, InstallationToken] = {}
        self._locks: dict[CacheKey, asyncio.Lock] = {}

    def _fresh(self, key: CacheKey) -> InstallationToken | None:
        token = self._tokens.get(key)
        if token is not None and self._now() < token.expires_at - self._margin:
            return token
        return None

    async def get(self, grant_id: str, organization_id: str, mint: Mint) -> InstallationToken:
        """The cached token for the key, or the one ``mint`` returns (called at most once)."""
        key = (grant_id, organization_id)
        token = self._fresh(key)
        if token is not None:
            return token
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            token = self._fresh(key)
            if token is None:
                token = await mint()
                self._tokens[key] = token
            return token

    def invalidate(self, grant_id: str, organization_id: str) -> None:
        """Forget the key's token (after a 401 or 410, or when the grant is revoked)."""
        self._tokens.pop((grant_id, organization_id), None)
