"""``ConnectClient``: the partner's calls to the authorization server and the grant endpoints.

Token endpoint (RFC 6749 §4.1.3 code exchange with RFC 7636 verifier, §6
refresh with rotation per OAuth 2.1 §4.3.1), client authentication
(``client_secret_basic``, RFC 6749 §2.3.1, for confidential clients; ``none``
for public ones), token revocation (RFC 7009), and the installation-token
mint and grant revocation (partner guide, "7. Installation tokens and caching").

Refresh rotates the refresh token: ``refresh`` hands the new ``TokenSet`` to
the caller's ``persist`` callback and returns only after it succeeded, so a
crash after the call cannot lose the only valid refresh token. A response
lost in transit is retried once with the same refresh token, which the server
accepts until the new one has been used (partner guide, "9. Refresh rotation and the
lost-response window").
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import httpx

from i18n_connect.client.api import PartnerAPI, TokenSource
from i18n_connect.client.authorization import AuthorizationSession
from i18n_connect.client.errors import I18nConnectError
from i18n_connect.client.models import InstallationToken, TokenSet
from i18n_connect.client.transport import Requester, RetryPolicy, Sleep

__all__ = ["ConnectClient", "PersistCallback"]

PersistCallback = Callable[[TokenSet], Awaitable[None] | None]
Now = Callable[[], datetime]

TOKEN_PATH = "/api/auth/mcp/token"  # noqa: S105 (a path, not a secret)
REVOKE_PATH = "/api/auth/mcp/revoke"
INSTALLATIONS_PATH = "/api/oauth-client/installations"


def _utc_now() -> datetime:
    return datetime.now(UTC)


async def _call_persist(persist: PersistCallback, tokens: TokenSet) -> None:
    result = persist(tokens)
    if inspect.isawaitable(result):
        await result


class ConnectClient:
    """An OAuth client of one i18n-connect issuer (async; see ``SyncConnectClient``)."""

    def __init__(
        self,
        issuer: str,
        client_id: str,
        *,
        client_secret: str | None = None,
        http: httpx.AsyncClient | None = None,
        retry: RetryPolicy | None = None,
        now: Now = _utc_now,
        sleep: Sleep = asyncio.sleep,
        timeout: float = 15.0,
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self.client_id = client_id
        self._client_secret = client_secret
        self._owns_http = http is None
        self.http = http or httpx.AsyncClient(timeout=timeout)
        self.now = now
        self.requester = Requester(self.issuer, self.http, retry=retry, sleep=sleep)

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this object created it."""
        if self._owns_http:
            await self.http.aclose()

    # -- authorization -------------------------------------------------------------

    def start_authorization(
        self,
        redirect_uri: str,
        scope: Sequence[str] | str = (),
        *,
        resource: str | None = None,
    ) -> AuthorizationSession:
        """A new ``AuthorizationSession``: send the user to ``.url``, keep the rest."""
        scopes = scope if isinstance(scope, str) else tuple(scope)
        return AuthorizationSession.start(
            self.issuer, self.client_id, redirect_uri, scopes, resource=resource
        )

    async def exchange_code(
        self,
        code: str,
        *,
        redirect_uri: str,
        code_verifier: str,
        persist: PersistCallback | None = None,
    ) -> TokenSet:
        """Redeem an authorization code (once) for an access token and one grant per org."""
        tokens = await self._token_request(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": redirect_uri,
                "code_verifier": code_verifier,
            }
        )
        if persist is not None:
            await _call_persist(persist, tokens)
        return tokens

    async def complete_authorization(
        self,
        session: AuthorizationSession,
        callback: str | dict[str, str],
        *,
        persist: PersistCallback | None = None,
        require_iss: bool = False,
    ) -> TokenSet:
        """Validate the callback against ``session`` and exchange its code."""
        code = session.code_from_callback(callback, require_iss=require_iss)
        return await self.exchange_code(
            code,
            redirect_uri=session.redirect_uri,
            code_verifier=session.code_verifier,
            persist=persist,
        )

    async def refresh(
        self,
        refresh_token: str,
        *,
        persist: PersistCallback,
        scope: Sequence[str] | None = None,
    ) -> TokenSet:
        """A new access token for the refresh token's grant; ``persist`` gets the rotated one.

        ``persist`` (sync or async) runs before this returns; if it raises, so
        does ``refresh``. A lost response is retried once with the same token.
        """
        form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
        if scope is not None:
            form["scope"] = " ".join(scope)
        try:
            tokens = await self._token_request(form)
        except httpx.TransportError:
            tokens = await self._token_request(form)
        await _call_persist(persist, tokens)
        return tokens

    async def _token_request(self, form: dict[str, str]) -> TokenSet:
        body, auth = self._client_authentication(form)
        response = await self.requester.request("POST", TOKEN_PATH, data=body, auth=auth)
        return TokenSet.from_json(_json_object(response), now=self.now())

    def _client_authentication(
        self, form: dict[str, str]
    ) -> tuple[dict[str, str], tuple[str, str] | None]:
        """``client_secret_basic`` (form-urlencoded id and secret) or ``none`` with client_id."""
        auth = None
        if self._client_secret is not None:
            auth = (quote(self.client_id, safe=""), quote(self._client_secret, safe=""))
        return {**form, "client_id": self.client_id}, auth

    # -- revocation ----------------------------------------------------------------

    async def revoke_token(self, token: str, *, token_type_hint: str | None = None) -> None:
        """RFC 7009: revoke a refresh token (and its chain) or an installation token."""
        form = {"token": token}
        if token_type_hint is not None:
            form["token_type_hint"] = token_type_hint
        body, auth = self._client_authentication(form)
        await self.requester.request("POST", REVOKE_PATH, data=body, auth=auth)

    async def revoke_grant(self, access_token: str, grant_id: str) -> None:
        """Revoke a grant the access token covers (204, idempotent); everything of it dies."""
        await self.requester.request(
            "DELETE", f"{INSTALLATIONS_PATH}/{quote(grant_id, safe='')}", bearer=access_token
        )

    # -- grants in use -------------------------------------------------------------

    async def mint_installation_token(
        self,
        access_token: str,
        grant_id: str,
        *,
        project_ids: Sequence[str] | None = None,
        scopes: Sequence[str] | None = None,
    ) -> InstallationToken:
        """Mint a 1-hour installation token for the grant, optionally narrowed."""
        body: dict[str, list[str]] = {}
        if project_ids is not None:
            body["project_ids"] = list(project_ids)
        if scopes is not None:
            body["scopes"] = list(scopes)
        response = await self.requester.request(
            "POST",
            f"{INSTALLATIONS_PATH}/{quote(grant_id, safe='')}/tokens",
            bearer=access_token,
            json=body,
        )
        return InstallationToken.from_json(_json_object(response), now=self.now())

    async def me(self, access_token: str) -> dict[str, Any]:
        """``GET /api/oauth-client/me``: the user, the client and the token's grants."""
        response = await self.requester.request("GET", "/api/oauth-client/me", bearer=access_token)
        return _json_object(response)

    def partner_api(self, token: TokenSource) -> PartnerAPI:
        """Typed partner-API calls with an installation token (or an async source of one)."""
        return PartnerAPI(self.requester, token)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError as exc:
        raise I18nConnectError(
            "The response is not JSON.", status=response.status_code, error="unexpected_response"
        ) from exc
    if not isinstance(data, dict):
        raise I18nConnectError(
            "The response is not a JSON object.",
            status=response.status_code,
            error="unexpected_response",
        )
    return data
