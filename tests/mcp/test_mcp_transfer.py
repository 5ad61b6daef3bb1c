"""``exportTranslations`` and ``importTranslations`` over MCP: the partner API's scopes and
checks, as tool errors that name the line or the key, and nothing written on refusal."""

from __future__ import annotations

import json
from typing import Any

import httpx
from mcp_helpers import World, call_tool, rpc

from i18n_connect.platform import translations


async def _import(
    client: httpx.AsyncClient, token: str, content: str, fmt: str = "json"
) -> dict[str, Any]:
    """importTranslations of German texts into acme's web project."""
    return await call_tool(
        client,
        token,
        "importTranslations",
        project="web",
        language="de",
        format=fmt,
        content=content,
    )


async def _german(world: World) -> dict[str, str | None]:
    async with world.services.db.transaction(readonly=True) as conn:
        found = await translations.get_translations(conn, world.projects["acme"], "de")
    return {t.key: t.draft for t in found}


async def test_export_then_import_round_trips_as_drafts(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.installation_token()
    exported = await call_tool(
        running_app, token, "exportTranslations", project="web", language="de", format="po"
    )
    assert exported.get("isError") is not True, exported
    content = exported["structuredContent"]["content"]
    assert 'msgid "home.title"\nmsgstr "Start"' in content
    changed = content.replace('msgstr "Start"', 'msgstr "Startseite"')
    imported = await _import(running_app, token, changed, "po")
    assert imported["structuredContent"]["updated"] == ["home.title"]
    assert await _german(world) == {"home.title": "Startseite"}


async def test_import_refusals_name_the_problem_and_write_nothing(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.installation_token(scopes=["projects:read", "translations:write"])
    new_key = await _import(running_app, token, '{"home.title": "Neu", "other.key": "x"}')
    assert new_key["isError"] is True
    refused = json.loads(new_key["content"][0]["text"])
    assert refused["error"] == "missing_scope" and refused["required"] == "keys:write"
    assert refused["error_description"].startswith(
        "The file names 1 new key(s), which needs keys:write"
    )
    malformed = await _import(running_app, token, '{"home.title": "Neu",\n  oops}')
    assert malformed["isError"] is True
    refused = json.loads(malformed["content"][0]["text"])
    assert refused["error"] == "malformed_file"
    assert (refused["line"], refused["column"]) == (2, 3)
    assert refused["error_description"].startswith("invalid JSON")
    broken = await _import(running_app, token, '{"home.title": "{n, plural, one {x}}"}')
    assert broken["isError"] is True
    refused = json.loads(broken["content"][0]["text"])
    assert (refused["error"], refused["key"]) == ("invalid_translation", "home.title")
    assert refused["problem"].startswith("broken ICU MessageFormat")
    assert await _german(world) == {"home.title": "Start"}


async def test_set_translations_refuses_a_placeholder_mismatch(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.installation_token()
    await call_tool(
        running_app,
        token,
        "setTranslations",
        project="web",
        language="en",
        translations={"home.title": "Hello {name}"},
    )
    result = await call_tool(
        running_app,
        token,
        "setTranslations",
        project="web",
        language="de",
        translations={"home.title": "Hallo %s"},
    )
    assert result["isError"] is True
    refused = json.loads(result["content"][0]["text"])
    assert (refused["error"], refused["key"], refused["problem"]) == (
        "invalid_translation",
        "home.title",
        "missing placeholder(s) {name} of the source text",
    )


async def test_export_needs_translations_read_and_tools_carry_annotations(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.installation_token(scopes=["projects:read"])
    result = await call_tool(running_app, token, "exportTranslations", project="web", language="de")
    assert result["isError"] is True
    assert "missing_scope" in result["content"][0]["text"]
    listed = await rpc(running_app, "tools/list", token=token)
    tools = {tool["name"]: tool for tool in listed.json()["result"]["tools"]}
    assert tools["exportTranslations"]["annotations"]["readOnlyHint"] is True
    assert tools["importTranslations"]["annotations"]["destructiveHint"] is True
