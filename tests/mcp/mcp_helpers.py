"""Helpers of the MCP tests: the seeded world and JSON-RPC calls to /mcp."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from factories import web_project
from i18n_connect import grants, installations
from i18n_connect.mcp import TOOL_SCOPES
from i18n_connect.oauth.clients import create_client
from i18n_connect.platform.accounts import create_user
from i18n_connect.platform.organizations import create_organization
from i18n_connect.platform.projects import create_project
from i18n_connect.scopes import format_scope
from i18n_connect.services import Services

PROTOCOL = "2025-11-25"
ALL_TOOL_SCOPES = tuple(format_scope(TOOL_SCOPES.values()).split())


@dataclass
class World:
    services: Services
    user_id: str
    client_id: str
    other_client_id: str
    orgs: dict[str, str]  # slug -> id
    projects: dict[str, str]  # org slug -> project id
    grants: dict[str, str]  # org slug -> grant id

    async def access_token(
        self,
        scopes: Sequence[str] = ALL_TOOL_SCOPES,
        *,
        orgs: Sequence[str] = ("acme",),
        audience: str | None = None,
        client_id: str | None = None,
    ) -> str:
        issued = await self.services.tokens.issue(
            user_id=self.user_id,
            client_id=client_id or self.client_id,
            scope=scopes,
            grant_ids=[self.grants[slug] for slug in orgs],
            audience=audience or self.services.settings.mcp_resource,
        )
        return issued.token

    async def app_project(self, org: str = "acme") -> str:
        """A second project, "App" (slug ``app``), in ``org``; its id."""
        async with self.services.db.transaction() as conn:
            project = await create_project(
                conn,
                organization_id=self.orgs[org],
                name="App",
                slug="app",
                source_language="en",
                now=self.services.clock.now(),
            )
        return project.id

    async def installation_token(
        self,
        org: str = "acme",
        scopes: Sequence[str] | None = None,
        project_ids: Sequence[str] | None = None,
    ) -> str:
        claims = (
            await self.services.tokens.issue(
                user_id=self.user_id,
                client_id=self.client_id,
                scope=ALL_TOOL_SCOPES,
                grant_ids=[self.grants[org]],
                audience=self.services.settings.api_resource,
            )
        ).claims
        async with self.services.db.transaction() as conn:
            minted = await installations.mint(
                conn,
                claims=claims,
                grant_id=self.grants[org],
                project_ids=project_ids,
                scopes=scopes,
                now=self.services.clock.now(),
                hasher=self.services.hasher,
                mints_per_minute=1000,
            )
        return minted.token


async def rpc(
    client: httpx.AsyncClient,
    method: str,
    params: dict[str, Any] | None = None,
    *,
    token: str | None = None,
    headers: dict[str, str] | None = None,
    url: str = "/mcp",
) -> httpx.Response:
    """One JSON-RPC request to the MCP endpoint (stateless: no initialize needed)."""
    sent = {
        "accept": "application/json, text/event-stream",
        "mcp-protocol-version": PROTOCOL,
        **(headers or {}),
    }
    if token is not None:
        sent["authorization"] = f"Bearer {token}"
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": 1, "method": method}
    if params is not None:
        body["params"] = params
    return await client.post(url, json=body, headers=sent)


async def call_tool(
    client: httpx.AsyncClient, token: str, name: str, *, url: str = "/mcp", **arguments: Any
) -> dict[str, Any]:
    params = {"name": name, "arguments": arguments}
    response = await rpc(client, "tools/call", params, token=token, url=url)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()["result"]
    return result


async def seeded_world(running_app: httpx.AsyncClient) -> World:
    """A user owning two organizations with a project each, and a client granted both."""
    services: Services = running_app.app.state.services  # type: ignore[attr-defined]
    now = services.clock.now()
    async with services.db.transaction() as conn:
        user = await create_user(
            conn, email="ada@example.com", password="correct horse battery", name="Ada", now=now
        )
        orgs, project_ids = {}, {}
        for slug in ("acme", "globex"):
            org = await create_organization(
                conn, slug=slug, name=slug.title(), owner_user_id=user.id, now=now
            )
            orgs[slug] = org.id
            project_ids[slug] = (await web_project(conn, org.id, now)).id
        client, _ = await create_client(
            conn,
            name="Agent",
            redirect_uris=["http://127.0.0.1/cb"],
            confidential=False,
            now=now,
            hasher=services.hasher,
        )
        other, _ = await create_client(
            conn,
            name="Other",
            redirect_uris=["http://127.0.0.1/cb"],
            confidential=False,
            now=now,
            hasher=services.hasher,
        )
        granted = await grants.consent(
            conn,
            user_id=user.id,
            client_id=client.id,
            organization_ids=list(orgs.values()),
            scope=ALL_TOOL_SCOPES,
            now=now,
        )
    return World(
        services=services,
        user_id=user.id,
        client_id=client.id,
        other_client_id=other.id,
        orgs=orgs,
        projects=project_ids,
        grants={slug: grant.id for slug, grant in zip(orgs, granted, strict=True)},
    )
