"""How the partner app gets tokens for a connection, with the SDK.

Access tokens (30 minutes) live in memory per grant and are renewed by a
refresh whose rotated token is written to SQLite before the refresh returns.
Installation tokens (1 hour) come from the SDK's ``InstallationTokenCache``.
A revoked grant (410) or a refused refresh (``invalid_grant``) marks the
connection for **Reconnect**.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from examples.partner_app.store import Connection, Store
from i18n_connect.client import (
    ConnectClient,
    GrantNotFound,
    GrantRevoked,
    InstallationToken,
    InstallationTokenCache,
    InvalidGrant,
    InvalidToken,
    PartnerAPI,
    TokenSet,
)

__all__ = ["NeedsReconnect", "Tokens"]

T = TypeVar("T")
MARGIN = timedelta(seconds=60)


class NeedsReconnect(Exception):
    """The connection's grant is gone; the user must connect again."""


class Tokens:
    """Access and installation tokens for the connections in ``store``."""

    def __init__(self, client: ConnectClient, store: Store) -> None:
        self.client = client
        self.store = store
        self.installations = InstallationTokenCache(now=client.now)
        self._access: dict[str, tuple[str, datetime]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def remember(self, tokens: TokenSet) -> None:
        """Keep an access token for every grant it covers (after a code exchange)."""
        for grant in tokens.grants:
            self._access[grant.grant_id] = (tokens.access_token, tokens.expires_at)

    async def access_token(self, connection: Connection) -> str:
        """A live access token for the connection's grant, refreshing (once) when needed."""
        grant_id = connection.grant_id
        async with self._locks.setdefault(grant_id, asyncio.Lock()):
            cached = self._access.get(grant_id)
            if cached is not None and self.client.now() < cached[1] - MARGIN:
                return cached[0]
            current = await run_in_threadpool(self.store.connection, connection.id)
            if current is None or current.grant_id != grant_id:
                raise NeedsReconnect("This connection was replaced or removed.")

            async def persist(tokens: TokenSet) -> None:
                await run_in_threadpool(
                    self.store.rotate_refresh_token, grant_id, tokens.refresh_token
                )

            try:
                tokens = await self.client.refresh(current.refresh_token, persist=persist)
            except InvalidGrant as exc:
                await self._lost(connection, f"Refresh refused: {exc.description}")
                raise NeedsReconnect(exc.description) from exc
            self._access[grant_id] = (tokens.access_token, tokens.expires_at)
            return tokens.access_token

    async def installation_token(self, connection: Connection) -> InstallationToken:
        async def mint() -> InstallationToken:
            access = await self.access_token(connection)
            return await self.client.mint_installation_token(access, connection.grant_id)

        return await self.installations.get(connection.grant_id, connection.organization_id, mint)

    async def call(self, connection: Connection, use: Callable[[PartnerAPI], Awaitable[T]]) -> T:
        """Run ``use`` with the partner API of the connection; one retry on an expired token."""
        for attempt in (1, 2):
            try:
                token = await self.installation_token(connection)
                return await use(self.client.partner_api(token.token))
            except GrantRevoked as exc:
                await self._lost(connection, "Access was revoked on the platform.")
                raise NeedsReconnect(exc.description) from exc
            except InvalidToken:
                self._forget(connection)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")

    async def revoke(self, connection: Connection) -> None:
        """Revoke the grant on the platform (idempotent); a grant already gone is fine."""
        try:
            access = await self.access_token(connection)
            await self.client.revoke_grant(access, connection.grant_id)
        except (NeedsReconnect, GrantNotFound, GrantRevoked):
            pass
        self._forget(connection)

    async def _lost(self, connection: Connection, problem: str) -> None:
        self._forget(connection)
        await run_in_threadpool(self.store.mark_reconnect, connection.grant_id, problem)

    def _forget(self, connection: Connection) -> None:
        self._access.pop(connection.grant_id, None)
        self.installations.invalidate(connection.grant_id, connection.organization_id)
