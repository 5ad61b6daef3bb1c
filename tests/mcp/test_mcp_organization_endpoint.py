"""The MCP server of one organization at /mcp/o/{org_slug}: its own protected resource (RFC 9728
metadata, token audience), tools that act in that organization without an ``organization``
argument, and tokens of other addresses or organizations refused."""

from __future__ import annotations

import json

import httpx
import pytest
from mcp_helpers import World, call_tool, rpc

ACME = "/mcp/o/acme"
ACME_METADATA = "http://testserver/.well-known/oauth-protected-resource/mcp/o/acme"


async def test_each_organization_has_its_own_resource_metadata(
    running_app: httpx.AsyncClient,
) -> None:
    response = await running_app.get("/.well-known/oauth-protected-resource/mcp/o/acme")
    assert response.status_code == 200
    body = response.json()
    assert body["resource"] == "http://testserver/mcp/o/acme"
    assert body["authorization_servers"] == ["http://testserver"]
    assert body["resource_name"] == "i18n-connect MCP server of acme"
    refused = await running_app.get("/.well-known/oauth-protected-resource/mcp/o/Not_A_Slug")
    assert (refused.status_code, refused.json()["error"]) == (404, "not_found")


async def test_no_token_is_challenged_towards_the_organizations_metadata(
    running_app: httpx.AsyncClient,
) -> None:
    response = await rpc(running_app, "tools/list", url=ACME)
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert f'resource_metadata="{ACME_METADATA}"' in challenge
    assert "error=" not in challenge


async def test_malformed_slug_is_not_an_mcp_server(running_app: httpx.AsyncClient) -> None:
    response = await rpc(running_app, "tools/list", url="/mcp/o/ACME")
    assert (response.status_code, response.json()["error"]) == (404, "not_found")
    assert (await running_app.get(ACME)).status_code == 405


async def test_token_for_the_organization_works_there_without_organization_argument(
    running_app: httpx.AsyncClient, world: World
) -> None:
    # even a token over both grants acts only in the organization of its address
    token = await world.access_token(
        orgs=("acme", "globex"), audience="http://testserver/mcp/o/acme"
    )
    listed = await call_tool(running_app, token, "listProjects", url=ACME)
    assert [p["id"] for p in listed["structuredContent"]["projects"]] == [world.projects["acme"]]
    created = await call_tool(
        running_app, token, "createKeys", url=ACME, project="web", keys=[{"name": "a.b"}]
    )
    assert created["isError"] is False
    elsewhere = await call_tool(running_app, token, "listProjects", url=ACME, organization="globex")
    assert json.loads(elsewhere["content"][0]["text"])["error"] == "wrong_organization"


@pytest.mark.parametrize(
    ("audience", "url"),
    [
        ("http://testserver/mcp/o/acme", "/mcp"),
        ("http://testserver/mcp/o/acme", "/mcp/o/globex"),
        ("http://testserver/mcp", ACME),
        ("http://testserver/api/oauth-client", ACME),
    ],
    ids=["org-token-at-mcp", "org-token-at-other-org", "mcp-token-at-org", "api-token-at-org"],
)
async def test_access_token_of_another_address_is_refused(
    running_app: httpx.AsyncClient, world: World, audience: str, url: str
) -> None:
    token = await world.access_token(orgs=("acme", "globex"), audience=audience)
    response = await rpc(running_app, "tools/list", token=token, url=url)
    assert response.status_code == 401
    assert response.json() == {
        "error": "invalid_token",
        "error_description": "The access token is not meant for this resource.",
    }
    assert (
        'resource_metadata="http://testserver/.well-known/oauth-protected-resource/mcp'
        in (response.headers["www-authenticate"])
    )


async def test_access_token_without_a_grant_on_the_organization_is_refused(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.access_token(orgs=("globex",), audience="http://testserver/mcp/o/acme")
    response = await rpc(running_app, "tools/list", token=token, url=ACME)
    assert response.status_code == 401
    assert response.json()["error_description"] == (
        "The access token covers no grant on this organization."
    )


async def test_installation_token_works_at_its_organization_only(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.installation_token("acme")
    got = await call_tool(running_app, token, "getProject", url=ACME, project="web")
    assert got["structuredContent"]["id"] == world.projects["acme"]
    other = await rpc(running_app, "tools/list", token=token, url="/mcp/o/globex")
    assert other.status_code == 403
    assert other.json() == {
        "error": "wrong_organization",
        "error_description": "The resource belongs to another organization.",
    }
    unknown = await rpc(running_app, "tools/list", token=token, url="/mcp/o/nowhere")
    assert unknown.status_code == 404
    assert unknown.json() == {"error": "not_found", "error_description": "No such organization."}


async def test_step_up_at_an_organization_points_at_its_metadata(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.access_token(
        scopes=["projects:read"], audience="http://testserver/mcp/o/acme"
    )
    response = await rpc(
        running_app,
        "tools/call",
        {"name": "publishTranslations", "arguments": {"project": "web"}},
        token=token,
        url=ACME,
    )
    assert response.status_code == 403
    assert response.json()["scope"] == "projects:read translations:publish"
    assert f'resource_metadata="{ACME_METADATA}"' in response.headers["www-authenticate"]
