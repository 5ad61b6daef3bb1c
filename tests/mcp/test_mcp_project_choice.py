"""The projects a grant covers hold over MCP (SPEC §6): an access token acts through its grants
with their projects, and an installation token minted before the grant was narrowed refuses the
project it lost on its next call, with ``wrong_project``."""

from __future__ import annotations

import httpx
from mcp_helpers import World, call_tool

from i18n_connect import grants
from i18n_connect.platform.projects import create_project


async def _narrow_acme(world: World) -> str:
    """Add an "app" project to Acme and narrow Acme's grant to it; the new project's id."""
    services = world.services
    async with services.db.transaction() as conn:
        other = await create_project(
            conn,
            organization_id=world.orgs["acme"],
            name="App",
            slug="app",
            source_language="en",
            now=services.clock.now(),
        )
        grant = await grants.get_grant(conn, world.grants["acme"])
        assert grant is not None
        assert await grants.set_projects(
            conn, grant, (other.id,), actor=world.user_id, now=services.clock.now()
        )
    return other.id


async def test_an_access_token_acts_only_in_the_projects_of_its_grant(
    running_app: httpx.AsyncClient, world: World
) -> None:
    before = await call_tool(running_app, await world.access_token(), "listKeys", project="web")
    assert before["isError"] is False
    await _narrow_acme(world)
    token = await world.access_token()
    refused = await call_tool(running_app, token, "listKeys", project="web")
    assert refused["isError"] is True
    assert "wrong_project" in refused["content"][0]["text"]
    listed = await call_tool(running_app, token, "listProjects")
    assert [p["slug"] for p in listed["structuredContent"]["projects"]] == ["app"]


async def test_an_installation_token_follows_its_grant_narrowed_after_minting(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.installation_token()
    assert (await call_tool(running_app, token, "listKeys", project="web"))["isError"] is False
    await _narrow_acme(world)
    refused = await call_tool(running_app, token, "listKeys", project="web")
    assert refused["isError"] is True
    assert "wrong_project" in refused["content"][0]["text"]
