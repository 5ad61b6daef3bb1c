"""Each MCP tool against the partner-API route of the same operation, with installation tokens:
the same refusal body for the same case (missing scope, foreign or unknown project), the same
body for the same read, the same fields for the same write — and one naming convention
(snake_case) for every field of both doors."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import jsonschema
import pytest
from jsonschema import FormatChecker
from mcp_helpers import ALL_TOOL_SCOPES, World, call_tool, rpc
from pydantic import ValidationError

from i18n_connect.api.models import CreateProjectRequest
from i18n_connect.mcp import TOOL_SCOPES
from i18n_connect.platform.content import create_model, save_entry


@dataclass(frozen=True)
class Pair:
    """A tool call and the REST request of the same operation (``{P}``: the project's path)."""

    tool: str
    arguments: dict[str, Any]
    method: str
    path: str
    body: dict[str, Any] | None = None
    rest_body: dict[str, Any] | None = field(default=None)  # when REST names other things

    def rest(self, world: World) -> tuple[str, str, dict[str, Any] | None]:
        project = f"/api/oauth-client/v1/projects/{world.projects['acme']}"
        path = self.path.format(P=project, org=world.orgs["acme"])
        return self.method, path, self.rest_body if self.rest_body is not None else self.body


def pairs() -> list[Pair]:
    entry = {"project": "web", "model": "blog", "entry": "hello"}
    return [
        Pair("listProjects", {}, "GET", "/api/oauth-client/organizations/{org}/projects"),
        Pair("getProject", {"project": "web"}, "GET", "{P}"),
        Pair("getTranslationContext", {"project": "web"}, "GET", "{P}"),  # projects:read
        Pair("listKeys", {"project": "web"}, "GET", "{P}/keys"),
        Pair(
            "createKeys",
            {"project": "web", "keys": [{"name": "mcp.key", "namespace": "shop"}]},
            "POST",
            "{P}/keys",
            {"keys": [{"name": "mcp.key", "namespace": "shop"}]},
            {"keys": [{"name": "rest.key", "namespace": "shop"}]},
        ),
        Pair(
            "updateKeys",
            {"project": "web", "keys": [{"name": "home.title", "description": "Home"}]},
            "PATCH",
            "{P}/keys",
            {"keys": [{"name": "home.title", "description": "Home"}]},
        ),
        Pair(
            "setTranslations",
            {"project": "web", "language": "de", "translations": {"home.title": "Anfang"}},
            "PUT",
            "{P}/translations/de",
            {"translations": {"home.title": "Anfang"}},
        ),
        Pair("publishTranslations", {"project": "web"}, "POST", "{P}/publish", {}),
        Pair("getTranslations", {"project": "web", "language": "de"}, "GET", "{P}/translations/de"),
        Pair(
            "exportTranslations",
            {"project": "web", "language": "de"},
            "GET",
            "{P}/export?language=de&format=json",
        ),
        Pair(
            "importTranslations",
            {"project": "web", "language": "de", "format": "json", "content": '{"mcp.key": "x"}'},
            "POST",
            "{P}/import?language=de&format=json",
            {"rest.key": "x"},  # the file itself is the REST request's body
        ),
        Pair(
            "upsertGlossaryTerms",
            {"project": "web", "terms": [{"term": "Cart", "translations": {"de": "Korb"}}]},
            "PUT",
            "{P}/glossary",
            {"terms": [{"term": "Cart", "translations": {"de": "Korb"}}]},
            {"terms": [{"term": "Checkout", "translations": {"de": "Kasse"}}]},
        ),
        Pair("listGlossaryTerms", {"project": "web"}, "GET", "{P}/glossary"),
        Pair(
            "updateContentEntry",
            {**entry, "data": {"title": {"de": "Hallo"}}},
            "PUT",
            "{P}/models/blog/entries/hello",
            {"data": {"title": {"de": "Hallo"}}},
        ),
        Pair(
            "publishContentEntries",
            {"project": "web", "model": "blog"},
            "POST",
            "{P}/models/blog/publish",
            {},
        ),
        Pair(
            "listContentModels",
            {"project": "web"},
            "GET",
            "/api/oauth-client/organizations/acme/projects/web/models",
        ),
        Pair(
            "listContentEntries",
            {"project": "web", "model": "blog"},
            "GET",
            "{P}/models/blog/entries",
        ),
        Pair("getContentEntry", entry, "GET", "{P}/models/blog/entries/hello"),
        Pair(
            "deleteKeys",
            {"project": "web", "names": ["mcp.key"]},
            "POST",
            "{P}/keys/delete",
            {"names": ["mcp.key"]},
            {"names": ["rest.key"]},
        ),
        Pair(
            "deleteGlossaryTerms",
            {"project": "web", "terms": ["Cart"]},
            "POST",
            "{P}/glossary/delete",
            {"terms": ["Cart"]},
            {"terms": ["Checkout"]},
        ),
    ]


# No JSON body to compare: getTranslationContext has no REST route of its own, and the REST
# export answers the file itself, which exportTranslations carries as ``content``.
READS_WITHOUT_REST = {"getTranslationContext", "exportTranslations"}


async def with_blog_model(world: World) -> None:
    services = world.services
    async with services.db.transaction() as conn:
        fields = [{"name": "title", "type": "text", "localized": True}]
        now = services.clock.now()
        project = world.projects["acme"]
        await create_model(conn, project, slug="blog", name="Blog", fields=fields, now=now)
        await save_entry(conn, project, "blog", "hello", {"title": {"en": "Hello"}}, now)


async def rest(client: httpx.AsyncClient, token: str, world: World, pair: Pair) -> httpx.Response:
    method, path, body = pair.rest(world)
    return await client.request(
        method, path, json=body, headers={"authorization": f"Bearer {token}"}
    )


def shape(value: Any) -> Any:
    """The field names and value types of a JSON value, without the values."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def test_every_tool_has_a_rest_counterpart() -> None:
    assert sorted(pair.tool for pair in pairs()) == sorted(TOOL_SCOPES)


async def test_a_missing_scope_is_refused_with_the_same_body_at_either_door(
    running_app: httpx.AsyncClient, world: World
) -> None:
    await with_blog_model(world)
    for pair in pairs():
        scope = TOOL_SCOPES[pair.tool]
        token = await world.installation_token(
            scopes=[held for held in ALL_TOOL_SCOPES if held != scope]
        )
        refused = await rest(running_app, token, world, pair)
        assert refused.status_code == 403, pair.tool
        assert refused.json() == {
            "error": "missing_scope",
            "error_description": f"This route needs the scope {scope}.",
            "required": scope,
        }
        result = await call_tool(running_app, token, pair.tool, **pair.arguments)
        assert result["isError"] is True, pair.tool
        assert result["content"] == [{"type": "text", "text": refused.text}], pair.tool
        assert "structuredContent" not in result


async def test_foreign_unknown_and_excluded_projects_are_refused_alike(
    running_app: httpx.AsyncClient, world: World
) -> None:
    globex = world.projects["globex"]
    token = await world.installation_token()
    limited = await world.installation_token(project_ids=[await world.app_project()])
    cases = [
        (token, "getProject", {"project": globex}, f"/api/oauth-client/v1/projects/{globex}"),
        (token, "listKeys", {"project": "prj_nope"}, "/api/oauth-client/v1/projects/prj_nope/keys"),
        (
            limited,
            "getTranslations",
            {"project": world.projects["acme"], "language": "de"},
            f"/api/oauth-client/v1/projects/{world.projects['acme']}/translations/de",
        ),
    ]
    errors = []
    for credential, tool, arguments, path in cases:
        refused = await running_app.get(path, headers={"authorization": f"Bearer {credential}"})
        result = await call_tool(running_app, credential, tool, **arguments)
        assert result["isError"] is True
        assert result["content"][0]["text"] == refused.text
        errors.append((refused.status_code, refused.json()["error"]))
    assert errors == [(403, "wrong_organization"), (404, "not_found"), (403, "wrong_project")]


async def test_tools_answer_the_partner_api_bodies(
    running_app: httpx.AsyncClient, world: World
) -> None:
    await with_blog_model(world)
    token = await world.installation_token()
    listed = await rpc(running_app, "tools/list", token=token)
    schemas = {tool["name"]: tool["outputSchema"] for tool in listed.json()["result"]["tools"]}
    for pair in pairs():
        if pair.tool in READS_WITHOUT_REST:
            continue
        result = await call_tool(running_app, token, pair.tool, **pair.arguments)
        assert result["isError"] is False, result
        answered = await rest(running_app, token, world, pair)
        assert answered.status_code in (200, 201), answered.text
        structured = result["structuredContent"]
        jsonschema.validate(structured, schemas[pair.tool], format_checker=FormatChecker())
        assert json.loads(result["content"][0]["text"]) == structured
        if pair.method == "GET":
            assert structured == answered.json(), pair.tool
        else:  # each door wrote its own change: the same fields, other values
            assert shape(structured) == shape(answered.json()), pair.tool


_SNAKE = re.compile(r"[a-z][a-z0-9]*(_[a-z0-9]+)*")


def field_names(schema: Any) -> Iterator[str]:
    """Every property name declared anywhere in a JSON schema."""
    if isinstance(schema, dict):
        for name, value in schema.items():
            if name == "properties" and isinstance(value, dict):
                yield from value
            yield from field_names(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from field_names(item)


async def test_every_field_of_rest_and_mcp_is_snake_case(
    running_app: httpx.AsyncClient, world: World
) -> None:
    openapi = (await running_app.get("/openapi.json")).json()
    listed = await rpc(running_app, "tools/list", token=await world.installation_token())
    tools = listed.json()["result"]["tools"]
    names = set(field_names(openapi["components"]["schemas"]))
    for tool in tools:
        names |= set(field_names(tool["inputSchema"])) | set(field_names(tool["outputSchema"]))
    assert {"source_language", "target_languages", "organization_id", "created_at"} <= names
    assert sorted(name for name in names if not _SNAKE.fullmatch(name)) == []


def test_create_project_takes_source_language_and_the_spec_spelling() -> None:
    """The one camelCase field of SPEC §4 is still accepted, as an alias: never both."""
    for spelling in ("source_language", "sourceLanguage"):
        body = {"name": "Web", "slug": "web", spelling: "fr"}
        assert CreateProjectRequest.model_validate(body).source_language == "fr"
    with pytest.raises(ValidationError):
        CreateProjectRequest.model_validate(
            {"name": "Web", "slug": "web", "source_language": "fr", "sourceLanguage": "de"}
        )
