"""What ``tools/list`` tells a client about each tool (MCP 2025-06-18): its title, the behaviour
hints connector directories require and clients ask confirmations by, and its output schema."""

from __future__ import annotations

import httpx
from mcp_helpers import World, rpc

from i18n_connect.mcp import TOOL_SCOPES

READS = {
    "listProjects",
    "getProject",
    "getTranslationContext",
    "listKeys",
    "getTranslations",
    "listGlossaryTerms",
    "listContentModels",
    "listContentEntries",
    "getContentEntry",
    "exportTranslations",
}
DESTRUCTIVE = {
    "deleteKeys",
    "publishTranslations",
    "upsertGlossaryTerms",  # glossary:write is a destructive scope (SPEC §2)
    "deleteGlossaryTerms",
    "publishContentEntries",
    "importTranslations",  # mode=replace-drafts discards unpublished drafts
}


async def listed_tools(client: httpx.AsyncClient, world: World) -> dict[str, dict[str, object]]:
    response = await rpc(client, "tools/list", token=await world.installation_token())
    assert response.status_code == 200
    return {tool["name"]: tool for tool in response.json()["result"]["tools"]}


async def test_every_tool_carries_every_hint(running_app: httpx.AsyncClient, world: World) -> None:
    tools = await listed_tools(running_app, world)
    assert set(tools) == set(TOOL_SCOPES)
    for name, tool in tools.items():
        annotations = tool["annotations"]
        assert isinstance(annotations, dict)
        assert set(annotations) == {
            "title",
            "readOnlyHint",
            "destructiveHint",
            "idempotentHint",
            "openWorldHint",
        }, name
        assert annotations["title"] == tool["title"] and tool["title"], name
        assert annotations["readOnlyHint"] is (name in READS), name
        assert annotations["destructiveHint"] is (name in DESTRUCTIVE), name
        assert annotations["openWorldHint"] is False, name
        if name in READS:
            assert annotations["idempotentHint"] is True, name
    assert tools["createKeys"]["annotations"] == {
        "title": "Create translation keys",
        "readOnlyHint": False,
        "destructiveHint": False,
        "idempotentHint": False,
        "openWorldHint": False,
    }


async def test_every_tool_has_an_object_output_schema_without_extra_fields_in_its_input(
    running_app: httpx.AsyncClient, world: World
) -> None:
    tools = await listed_tools(running_app, world)
    for name, tool in tools.items():
        output = tool["outputSchema"]
        assert isinstance(output, dict) and output["type"] == "object", name
        assert output["properties"], name
        assert tool["inputSchema"]["type"] == "object", name  # type: ignore[index]
    project = tools["getProject"]["outputSchema"]
    assert isinstance(project, dict)
    assert set(project["required"]) == {
        "id",
        "organization_id",
        "slug",
        "name",
        "source_language",
        "languages",
        "created_at",
    }
