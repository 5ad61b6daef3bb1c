"""The MCP list tools page as the partner API does: the same ``limit`` and ``cursor``, the same
``next_cursor``, the same bodies; a cursor from one door continues the list at the other,
and a bad cursor is the REST route's 400 body as a tool error."""

from __future__ import annotations

from typing import Any

import httpx
from mcp_helpers import World, call_tool

from i18n_connect.platform import glossary, keys, translations
from i18n_connect.platform.content import create_model, save_entry

FOREIGN = (
    "cursor: changed, or the next_cursor of another list; pass the next_cursor of this "
    "list unchanged, or start again without cursor."
)


async def _seed(world: World) -> None:
    """acme's Web project: keys a-1…a-4 with German drafts, three terms, a model with three
    entries; acme also gets the projects App and Docs."""
    services, project = world.services, world.projects["acme"]
    now = services.clock.now()
    async with services.db.transaction() as conn:
        names = {f"a-{n}": "" for n in range(1, 5)}
        await keys.create_keys(conn, project, names, now)
        await translations.set_translations(conn, project, "de", dict.fromkeys(names, "x"), now)
        await glossary.save_terms(
            conn, project, [glossary.TermInput(t) for t in ("t-1", "t-2", "t-3")], now
        )
        fields = [{"name": "title", "type": "text", "localized": True}]
        for slug in ("blog", "docs"):
            await create_model(conn, project, slug=slug, name=slug, fields=fields, now=now)
        for slug in ("e-1", "e-2", "e-3"):
            await save_entry(conn, project, "blog", slug, {"title": {"en": slug}}, now)
    await world.app_project()


def _cases(world: World) -> list[tuple[str, dict[str, Any], str, str]]:
    """Tool, its arguments, the REST path and the field of the items."""
    project = f"/api/oauth-client/v1/projects/{world.projects['acme']}"
    return [
        (
            "listProjects",
            {},
            f"/api/oauth-client/organizations/{world.orgs['acme']}/projects",
            "projects",
        ),
        ("listKeys", {"project": "web"}, f"{project}/keys", "keys"),
        (
            "getTranslations",
            {"project": "web", "language": "de"},
            f"{project}/translations/de",
            "translations",
        ),
        ("listGlossaryTerms", {"project": "web"}, f"{project}/glossary", "terms"),
        (
            "listContentModels",
            {"project": "web"},
            "/api/oauth-client/organizations/acme/projects/web/models",
            "models",
        ),
        (
            "listContentEntries",
            {"project": "web", "model": "blog"},
            f"{project}/models/blog/entries",
            "entries",
        ),
    ]


async def test_each_list_tool_pages_like_its_route_with_the_same_cursors(
    running_app: httpx.AsyncClient, world: World
) -> None:
    await _seed(world)
    token = await world.installation_token()
    headers = {"authorization": f"Bearer {token}"}
    for tool, arguments, path, field in _cases(world):
        rest_pages: list[dict[str, Any]] = []
        tool_pages: list[dict[str, Any]] = []
        cursor: str | None = None
        while True:
            params: dict[str, Any] = (
                {"limit": 1} if cursor is None else {"limit": 1, "cursor": cursor}
            )
            rest = await running_app.get(path, params=params, headers=headers)
            assert rest.status_code == 200, (tool, rest.text)
            result = await call_tool(running_app, token, tool, **arguments, **params)
            assert result["isError"] is False, (tool, result)
            assert result["structuredContent"] == rest.json(), tool
            rest_pages.append(rest.json())
            tool_pages.append(result["structuredContent"])
            cursor = rest.json()["next_cursor"]
            if cursor is None:
                break
        assert all(len(page[field]) == 1 for page in rest_pages), tool
        whole = await running_app.get(path, headers=headers)
        assert [item for page in rest_pages for item in page[field]] == whole.json()[field], tool
        assert len(rest_pages) >= 2, tool


async def test_a_tool_continues_a_rest_listing_and_refuses_a_foreign_cursor(
    running_app: httpx.AsyncClient, world: World
) -> None:
    await _seed(world)
    token = await world.installation_token()
    keys_url = f"/api/oauth-client/v1/projects/{world.projects['acme']}/keys"
    first = await running_app.get(
        keys_url, params={"limit": 2}, headers={"authorization": f"Bearer {token}"}
    )
    assert [k["name"] for k in first.json()["keys"]] == ["a-1", "a-2"]
    rest = await call_tool(
        running_app, token, "listKeys", project="web", cursor=first.json()["next_cursor"]
    )
    assert [k["name"] for k in rest["structuredContent"]["keys"]] == ["a-3", "a-4", "home.title"]
    assert rest["structuredContent"]["next_cursor"] is None
    refused_rest = await running_app.get(
        f"/api/oauth-client/v1/projects/{world.projects['acme']}/glossary",
        params={"cursor": first.json()["next_cursor"]},
        headers={"authorization": f"Bearer {token}"},
    )
    assert (refused_rest.status_code, refused_rest.json()["error_description"]) == (400, FOREIGN)
    refused = await call_tool(
        running_app, token, "listGlossaryTerms", project="web", cursor=first.json()["next_cursor"]
    )
    assert refused["isError"] is True
    assert refused["content"] == [{"type": "text", "text": refused_rest.text}]


async def test_a_limit_outside_the_range_is_refused_by_the_tool_schema(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.installation_token()
    for limit in (0, 1001):
        result = await call_tool(running_app, token, "listProjects", limit=limit)
        assert result["isError"] is True, limit
        assert "limit" in result["content"][0]["text"]
