"""Set-up for the token endpoint tests: a user, organizations, clients, grants and codes
made directly in the store (no browser), and small helpers to call the endpoint."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus

import httpx
import sqlalchemy as sa

from factories import authorization_code, partner_client, user_owning
from i18n_connect import grants
from i18n_connect.services import Services

TOKEN = "/api/auth/mcp/token"
REDIRECT = "https://app.example.com/cb"
LOOPBACK = "http://127.0.0.1/cb"
VERIFIER = "verifier-" + "a" * 40  # 49 unreserved characters
SCOPE = "org:read keys:read keys:write"


def verifier(n: int) -> str:
    return f"verifier-{n:04d}-" + "b" * 40


def basic(client_id: str, secret: str) -> str:
    raw = f"{quote_plus(client_id)}:{quote_plus(secret)}".encode()
    return "Basic " + base64.b64encode(raw).decode()


@dataclass(frozen=True)
class Code:
    code: str
    verifier: str
    client_id: str
    redirect_uri: str
    grant_ids: tuple[str, ...]

    def form(self, **overrides: str | None) -> dict[str, str]:
        """The correct token request for this code, with some parameters replaced or dropped."""
        data: dict[str, str | None] = {
            "grant_type": "authorization_code",
            "code": self.code,
            "redirect_uri": self.redirect_uri,
            "client_id": self.client_id,
            "code_verifier": self.verifier,
            **overrides,
        }
        return {name: value for name, value in data.items() if value is not None}


@dataclass
class TokenWorld:
    services: Services
    http: httpx.AsyncClient
    user_id: str
    acme: str
    globex: str
    public_id: str  # public client, redirect URIs REDIRECT and LOOPBACK
    other_public_id: str  # another public client with the same redirect URI
    confidential_id: str
    confidential_secret: str

    async def code(
        self,
        *,
        client_id: str | None = None,
        organizations: Sequence[str] | None = None,
        scope: str = SCOPE,
        redirect_uri: str = REDIRECT,
        resource: str | None = None,
        code_verifier: str = VERIFIER,
    ) -> Code:
        """Consent (grants) and a code, as the consent screen would make them."""
        client_id = client_id or self.public_id
        now = self.services.clock.now()
        async with self.services.db.transaction() as conn:
            consented = await grants.consent(
                conn,
                user_id=self.user_id,
                client_id=client_id,
                organization_ids=organizations or [self.acme],
                scope=scope.split(),
                now=now,
            )
            grant_ids = tuple(grant.id for grant in consented)
            code = await authorization_code(
                conn,
                user_id=self.user_id,
                client_id=client_id,
                grant_ids=grant_ids,
                scope=scope,
                redirect_uri=redirect_uri,
                code_verifier=code_verifier,
                resource=resource,
                now=now,
                hasher=self.services.hasher,
            )
        return Code(code, code_verifier, client_id, redirect_uri, grant_ids)

    async def post(
        self, data: Any, *, headers: dict[str, str] | None = None, as_json: bool = False
    ) -> httpx.Response:
        if as_json:
            return await self.http.post(TOKEN, json=data, headers=headers)
        return await self.http.post(TOKEN, data=data, headers=headers)

    async def tokens(self, code: Code, **overrides: str | None) -> dict[str, Any]:
        response = await self.post(code.form(**overrides))
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def refresh(self, refresh_token: str, **extra: str) -> httpx.Response:
        data = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": self.public_id,
            **extra,
        }
        return await self.post(data)

    async def scalar(self, statement: Any) -> Any:
        async with self.services.db.transaction(readonly=True) as conn:
            return await conn.scalar(statement)

    async def count(self, table: sa.Table, *where: Any) -> int:
        return int(await self.scalar(sa.select(sa.func.count()).select_from(table).where(*where)))

    async def execute(self, statement: Any) -> None:
        async with self.services.db.transaction() as conn:
            await conn.execute(statement)


async def make_token_world(http: httpx.AsyncClient) -> TokenWorld:
    services: Services = http.app.state.services  # type: ignore[attr-defined]
    now, hasher = services.clock.now(), services.hasher
    async with services.db.transaction() as conn:
        orgs = await user_owning(
            conn, "usr_alice", "alice@example.com", ("acme", "globex"), now=now
        )
        public, _ = await partner_client(
            conn, "Editor plugin", [REDIRECT, LOOPBACK], hasher=hasher, now=now
        )
        other, _ = await partner_client(conn, "Other app", [REDIRECT], hasher=hasher, now=now)
        confidential, secret = await partner_client(
            conn, "Site builder", [REDIRECT], hasher=hasher, now=now, confidential=True
        )
    assert secret is not None
    return TokenWorld(
        services=services,
        http=http,
        user_id="usr_alice",
        acme=orgs["acme"],
        globex=orgs["globex"],
        public_id=public,
        other_public_id=other,
        confidential_id=confidential,
        confidential_secret=secret,
    )
