"""``deleteKeys`` over MCP: a key with published text also needs ``translations:publish``.
Without it an installation token gets a ``missing_scope`` tool error and an access token a
step-up challenge; either way nothing is deleted."""

from __future__ import annotations

import json

import httpx
from mcp_helpers import World, call_tool, rpc
from sqlalchemy import select

from i18n_connect.platform import keys, translations
from i18n_connect.storage.tables import translation_keys
from i18n_connect.storage.tables import translations as translations_table

WITHOUT_PUBLISH = ("projects:read", "keys:read", "keys:write")
RESOURCE_METADATA = 'resource_metadata="http://testserver/.well-known/oauth-protected-resource/mcp"'


async def _publish_home_title_and_add_draft_key(world: World) -> None:
    """acme's web project: ``home.title`` published; ``draft.only`` with a draft only."""
    project_id, now = world.projects["acme"], world.services.clock.now()
    async with world.services.db.transaction() as conn:
        assert await translations.publish_translations(conn, project_id, ["de"], now) == 1
        await keys.create_keys(conn, project_id, {"draft.only": ""}, now)
        await translations.set_translations(conn, project_id, "de", {"draft.only": "Nur"}, now)


async def _stored(world: World) -> tuple[list[str], list[str | None]]:
    """Key names of acme's web project, and the published texts of its translations."""
    async with world.services.db.transaction(readonly=True) as conn:
        names = await conn.scalars(
            select(translation_keys.c.name)
            .where(translation_keys.c.project_id == world.projects["acme"])
            .order_by(translation_keys.c.name)
        )
        published = await conn.scalars(
            select(translations_table.c.published)
            .join(translation_keys, translation_keys.c.id == translations_table.c.key_id)
            .where(translation_keys.c.project_id == world.projects["acme"])
            .order_by(translation_keys.c.name)
        )
        return list(names), list(published)


async def test_installation_token_without_publish_gets_missing_scope_and_deletes_nothing(
    running_app: httpx.AsyncClient, world: World
) -> None:
    await _publish_home_title_and_add_draft_key(world)
    before = await _stored(world)
    assert before == (["draft.only", "home.title"], [None, "Start"])
    token = await world.installation_token(scopes=WITHOUT_PUBLISH)

    result = await call_tool(
        running_app, token, "deleteKeys", project="web", names=["draft.only", "home.title"]
    )

    assert result["isError"] is True
    assert json.loads(result["content"][0]["text"]) == {  # the partner API's 403 body
        "error": "missing_scope",
        "error_description": "Deleting keys with published text needs the scope "
        "translations:publish: home.title.",
        "required": "translations:publish",
    }
    assert await _stored(world) == before


async def test_installation_token_without_publish_deletes_draft_only_keys(
    running_app: httpx.AsyncClient, world: World
) -> None:
    await _publish_home_title_and_add_draft_key(world)
    token = await world.installation_token(scopes=WITHOUT_PUBLISH)

    result = await call_tool(running_app, token, "deleteKeys", project="web", names=["draft.only"])

    assert result["structuredContent"] == {"deleted": ["draft.only"]}
    assert await _stored(world) == (["home.title"], ["Start"])


async def test_access_token_without_publish_gets_step_up_and_deletes_nothing(
    running_app: httpx.AsyncClient, world: World
) -> None:
    await _publish_home_title_and_add_draft_key(world)
    before = await _stored(world)
    token = await world.access_token(scopes=WITHOUT_PUBLISH)

    response = await rpc(
        running_app,
        "tools/call",
        {"name": "deleteKeys", "arguments": {"project": "web", "names": ["home.title"]}},
        token=token,
    )

    wanted = "projects:read keys:read keys:write translations:publish"
    assert response.status_code == 403
    assert response.json() == {
        "error": "insufficient_scope",
        "error_description": "Deleting keys with published text needs the scope "
        "translations:publish.",
        "scope": wanted,
    }
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert f'scope="{wanted}"' in challenge
    assert RESOURCE_METADATA in challenge
    assert await _stored(world) == before


async def test_access_token_without_publish_deletes_draft_only_keys(
    running_app: httpx.AsyncClient, world: World
) -> None:
    await _publish_home_title_and_add_draft_key(world)
    token = await world.access_token(scopes=WITHOUT_PUBLISH)

    result = await call_tool(running_app, token, "deleteKeys", project="web", names=["draft.only"])

    assert result["structuredContent"] == {"deleted": ["draft.only"]}
    assert await _stored(world) == (["home.title"], ["Start"])


async def test_access_token_with_publish_deletes_a_published_key(
    running_app: httpx.AsyncClient, world: World
) -> None:
    await _publish_home_title_and_add_draft_key(world)
    token = await world.access_token(scopes=(*WITHOUT_PUBLISH, "translations:publish"))

    result = await call_tool(running_app, token, "deleteKeys", project="web", names=["home.title"])

    assert result["structuredContent"] == {"deleted": ["home.title"]}
    assert await _stored(world) == (["draft.only"], [None])


async def test_unknown_key_in_a_step_up_check_is_left_to_the_tool(
    running_app: httpx.AsyncClient, world: World
) -> None:
    await _publish_home_title_and_add_draft_key(world)
    before = await _stored(world)
    token = await world.access_token(scopes=WITHOUT_PUBLISH)

    result = await call_tool(
        running_app, token, "deleteKeys", project="web", names=["home.title", "missing"]
    )

    assert result["isError"] is True
    assert json.loads(result["content"][0]["text"]) == {
        "error": "not_found",
        "error_description": "unknown key(s): missing",
    }
    assert await _stored(world) == before
