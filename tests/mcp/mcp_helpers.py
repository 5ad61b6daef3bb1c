"""Helpers of the MCP tests: the seeded world and JSON-RPC calls to /mcp."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

from factories import consented, installation_token, partner_client, user_owning, web_project
from i18n_connect.mcp import TOOL_SCOPES
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
        minted = await installation_token(
            self.services,
            user_id=self.user_id,
            client_id=self.client_id,
            grant_id=self.grants[org],
            scope=ALL_TOOL_SCOPES,
            project_ids=project_ids,
            scopes=scopes,
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
        orgs = await user_owning(conn, "usr_ada", "ada@example.com", ("acme", "globex"), now=now)
        project_ids = {slug: (await web_project(conn, org, now)).id for slug, org in orgs.items()}
        client_id, _ = await partner_client(
            conn, "Agent", ["http://127.0.0.1/cb"], hasher=services.hasher, now=now
        )
        other_id, _ = await partner_client(
            conn, "Other", ["http://127.0.0.1/cb"], hasher=services.hasher, now=now
        )
        granted = await consented(
            conn,
            user_id="usr_ada",
            client_id=client_id,
            organizations=orgs,
            scope=ALL_TOOL_SCOPES,
            now=now,
        )
    return World(
        services=services,
        user_id="usr_ada",
        client_id=client_id,
        other_client_id=other_id,
        orgs=orgs,
        projects=project_ids,
        grants=granted,
    )
