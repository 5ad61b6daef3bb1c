"""A blocking facade over ``ConnectClient`` for code without an event loop (Flask, Django, scripts).

It runs the async client on a private event loop (``asyncio.Runner``) kept
for the facade's lifetime, so connections are pooled across calls. Call it
from plain threads only; inside a running event loop use ``ConnectClient``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator, Sequence
from types import TracebackType
from typing import Any, Self, TypeVar

import httpx

from i18n_connect.client.api import PartnerAPI
from i18n_connect.client.authorization import AuthorizationSession
from i18n_connect.client.connect import ConnectClient, PersistCallback
from i18n_connect.client.models import InstallationToken, TokenSet
from i18n_connect.client.transport import RetryPolicy

__all__ = ["SyncConnectClient", "SyncPartnerAPI"]

T = TypeVar("T")


class SyncConnectClient:
    """The calls of ``ConnectClient``, blocking. Close it (or use ``with``) when done."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        *,
        client_secret: str | None = None,
        retry: RetryPolicy | None = None,
        timeout: float = 15.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._runner = asyncio.Runner()
        http = httpx.AsyncClient(timeout=timeout, transport=transport)
        self._client = ConnectClient(
            issuer, client_id, client_secret=client_secret, retry=retry, http=http
        )

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        """Run any coroutine of the async client (or of a ``PartnerAPI``) to completion."""
        return self._runner.run(coroutine)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._runner.run(self._client.http.aclose())
        self._runner.close()

    @property
    def issuer(self) -> str:
        return self._client.issuer

    def start_authorization(
        self, redirect_uri: str, scope: Sequence[str] | str = (), *, resource: str | None = None
    ) -> AuthorizationSession:
        return self._client.start_authorization(redirect_uri, scope, resource=resource)

    def complete_authorization(
        self,
        session: AuthorizationSession,
        callback: str | dict[str, str],
        *,
        persist: PersistCallback | None = None,
        require_iss: bool = False,
    ) -> TokenSet:
        return self.run(
            self._client.complete_authorization(
                session, callback, persist=persist, require_iss=require_iss
            )
        )

    def exchange_code(
        self,
        code: str,
        *,
        redirect_uri: str,
        code_verifier: str,
        persist: PersistCallback | None = None,
    ) -> TokenSet:
        return self.run(
            self._client.exchange_code(
                code, redirect_uri=redirect_uri, code_verifier=code_verifier, persist=persist
            )
        )

    def refresh(
        self, refresh_token: str, *, persist: PersistCallback, scope: Sequence[str] | None = None
    ) -> TokenSet:
        return self.run(self._client.refresh(refresh_token, persist=persist, scope=scope))

    def revoke_token(self, token: str, *, token_type_hint: str | None = None) -> None:
        self.run(self._client.revoke_token(token, token_type_hint=token_type_hint))

    def revoke_grant(self, access_token: str, grant_id: str) -> None:
        self.run(self._client.revoke_grant(access_token, grant_id))

    def mint_installation_token(
        self,
        access_token: str,
        grant_id: str,
        *,
        project_ids: Sequence[str] | None = None,
        scopes: Sequence[str] | None = None,
    ) -> InstallationToken:
        return self.run(
            self._client.mint_installation_token(
                access_token, grant_id, project_ids=project_ids, scopes=scopes
            )
        )

    def me(self, access_token: str) -> dict[str, Any]:
        return self.run(self._client.me(access_token))

    def partner_api(self, token: str) -> SyncPartnerAPI:
        return SyncPartnerAPI(self, self._client.partner_api(token))


class SyncPartnerAPI:
    """Every ``PartnerAPI`` method, blocking: ``api.projects(org_id)`` returns the list."""

    def __init__(self, owner: SyncConnectClient, api: PartnerAPI) -> None:
        self._owner = owner
        self._api = api

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self._api, name)
        if name.startswith("_") or not callable(method):
            raise AttributeError(name)

        def call(*args: Any, **kwargs: Any) -> Any:
            result = method(*args, **kwargs)
            if isinstance(result, AsyncIterator):  # an iter_… helper: a blocking iterator
                return self._blocking(result)
            return self._owner.run(result)

        return call

    def _blocking(self, items: AsyncIterator[Any]) -> Iterator[Any]:
        """Each item of ``items``, a page fetched (blocking) whenever one is used up."""

        async def following() -> tuple[bool, Any]:
            try:
                return True, await items.__anext__()
            except StopAsyncIteration:
                return False, None

        while True:
            more, item = self._owner.run(following())
            if not more:
                return
            yield item
