"""Deleting keys over the partner API: ``keys:write`` alone cannot take published text off
the CDN. A key with published text also needs ``translations:publish``; without it the whole
request is refused and nothing is deleted."""

from __future__ import annotations

from api_world import World
from sqlalchemy import select

from i18n_connect.platform import keys, translations
from i18n_connect.storage.tables import translation_keys
from i18n_connect.storage.tables import translations as translations_table

CDN = "/cdn/acme/web/de.json"


async def _publish_home_title_and_add_draft_key(world: World) -> None:
    """acme/web: ``home.title`` published in German; ``draft.only`` with a German draft."""
    project_id, now = world.projects["acme/web"], world.services.clock.now()
    async with world.services.db.transaction() as conn:
        assert await translations.publish_translations(conn, project_id, ["de"], now) == 1
        await keys.create_keys(conn, project_id, {"draft.only": ""}, now)
        await translations.set_translations(conn, project_id, "de", {"draft.only": "Nur"}, now)


async def _stored(world: World) -> tuple[list[str], list[tuple[str, str | None]]]:
    """Key names of acme/web, and (draft, published) of their translations."""
    project_id = world.projects["acme/web"]
    async with world.services.db.transaction(readonly=True) as conn:
        names = list(
            await conn.scalars(
                select(translation_keys.c.name)
                .where(translation_keys.c.project_id == project_id)
                .order_by(translation_keys.c.name)
            )
        )
        rows = await conn.execute(
            select(translations_table.c.draft, translations_table.c.published)
            .join(translation_keys, translation_keys.c.id == translations_table.c.key_id)
            .where(translation_keys.c.project_id == project_id)
            .order_by(translations_table.c.draft)
        )
        return names, [(row.draft, row.published) for row in rows]


async def _delete(world: World, token: str, names: list[str]) -> tuple[int, object]:
    url = f"/api/oauth-client/v1/projects/{world.projects['acme/web']}/keys/delete"
    response = await world.http.post(url, json={"names": names}, headers={"x-api-key": token})
    return response.status_code, response.json()


async def test_keys_write_alone_cannot_delete_a_key_with_published_text(world: World) -> None:
    await _publish_home_title_and_add_draft_key(world)
    before = await _stored(world)
    assert before == (["draft.only", "home.title"], [("Nur", None), ("Startseite", "Startseite")])
    token = await world.mint(scopes=["keys:write"])

    status, body = await _delete(world, token, ["draft.only", "home.title"])

    assert status == 403
    assert body == {
        "error": "missing_scope",
        "error_description": (
            "Deleting keys with published text needs the scope translations:publish: home.title."
        ),
        "required": "translations:publish",
    }
    assert await _stored(world) == before  # all or nothing: draft.only is still there too
    cdn = await world.http.get(CDN)
    assert (cdn.status_code, cdn.json()) == (200, {"home.title": "Startseite"})


async def test_keys_write_alone_deletes_keys_whose_text_is_only_draft(world: World) -> None:
    await _publish_home_title_and_add_draft_key(world)
    token = await world.mint(scopes=["keys:write"])

    assert await _delete(world, token, ["draft.only"]) == (200, {"deleted": ["draft.only"]})

    assert await _stored(world) == (["home.title"], [("Startseite", "Startseite")])


async def test_with_the_publish_scope_a_published_key_is_deleted_and_leaves_the_cdn(
    world: World,
) -> None:
    await _publish_home_title_and_add_draft_key(world)
    token = await world.mint(scopes=["keys:write", "translations:publish"])

    status, body = await _delete(world, token, ["home.title", "draft.only"])

    assert (status, body) == (200, {"deleted": ["home.title", "draft.only"]})
    assert await _stored(world) == ([], [])
    cdn = await world.http.get(CDN)
    assert (cdn.status_code, cdn.json()) == (200, {})


async def test_the_publish_scope_alone_does_not_delete_keys(world: World) -> None:
    await _publish_home_title_and_add_draft_key(world)
    before = await _stored(world)
    token = await world.mint(scopes=["translations:publish"])

    status, body = await _delete(world, token, ["home.title"])

    assert (status, body) == (
        403,
        {
            "error": "missing_scope",
            "error_description": "This route needs the scope keys:write.",
            "required": "keys:write",
        },
    )
    assert await _stored(world) == before
