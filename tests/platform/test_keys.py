"""Translation keys: create, list, update, delete, with conflicts and unknown names."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from i18n_connect.clock import FrozenClock
from i18n_connect.errors import ConflictError, InvalidRequest, MissingScope, NotFound
from i18n_connect.platform.keys import (
    KeyUpdate,
    create_keys,
    delete_keys,
    list_keys,
    update_keys,
)
from i18n_connect.platform.translations import get_translations, publish_translations
from i18n_connect.services import Services
from i18n_connect.storage.tables import translations


async def test_create_keys_then_list_by_name(
    services: Services, clock: FrozenClock, project_id: str
) -> None:
    async with services.db.transaction() as conn:
        created = await create_keys(
            conn, project_id, {"nav.home": "Home link", "app.title": ""}, clock.now()
        )
    assert [key.name for key in created] == ["nav.home", "app.title"]
    assert all(key.id.startswith("key_") for key in created)
    async with services.db.transaction(readonly=True) as conn:
        listed = await list_keys(conn, project_id)
        assert [(k.name, k.description) for k in listed] == [
            ("app.title", ""),
            ("nav.home", "Home link"),
        ]
        assert [k.name for k in await list_keys(conn, project_id, prefix="nav.")] == ["nav.home"]
        assert await list_keys(conn, "prj_b") == []


async def test_prefix_filter_treats_like_wildcards_literally(
    services: Services, clock: FrozenClock, project_id: str
) -> None:
    async with services.db.transaction() as conn:
        await create_keys(conn, project_id, {"a_b": "", "axb": ""}, clock.now())
        assert [k.name for k in await list_keys(conn, project_id, prefix="a_")] == ["a_b"]


async def test_creating_an_existing_key_conflicts_and_creates_nothing(
    services: Services, clock: FrozenClock, project_id: str
) -> None:
    async with services.db.transaction() as conn:
        await create_keys(conn, project_id, {"a": ""}, clock.now())
    with pytest.raises(ConflictError, match="a"):
        async with services.db.transaction() as conn:
            await create_keys(conn, project_id, {"b": "", "a": ""}, clock.now())
    async with services.db.transaction(readonly=True) as conn:
        assert [k.name for k in await list_keys(conn, project_id)] == ["a"]


async def test_same_key_name_in_two_projects_is_fine(
    services: Services, clock: FrozenClock, project_id: str
) -> None:
    async with services.db.transaction() as conn:
        await create_keys(conn, project_id, {"a": ""}, clock.now())
        await create_keys(conn, "prj_b", {"a": ""}, clock.now())
        assert len(await list_keys(conn, "prj_b")) == 1


@pytest.mark.parametrize(
    "keys",
    [
        pytest.param([], id="empty"),
        pytest.param([("", "")], id="empty-name"),
        pytest.param([(" padded", "")], id="whitespace"),
        pytest.param([("x" * 501, "")], id="too-long"),
        pytest.param([("a", ""), ("a", "")], id="duplicate"),
        pytest.param([("a", "d" * 2001)], id="long-description"),
    ],
)
async def test_invalid_key_batches_are_rejected(
    services: Services, clock: FrozenClock, project_id: str, keys: list[tuple[str, str]]
) -> None:
    with pytest.raises(InvalidRequest):
        async with services.db.transaction() as conn:
            await create_keys(conn, project_id, keys, clock.now())
    async with services.db.transaction(readonly=True) as conn:
        assert await list_keys(conn, project_id) == []


async def test_update_keys_changes_description_and_writes_drafts(
    services: Services, clock: FrozenClock, project_id: str
) -> None:
    async with services.db.transaction() as conn:
        await create_keys(conn, project_id, {"a": "old"}, clock.now())
    later = clock.advance(minutes=5)
    async with services.db.transaction() as conn:
        updated = await update_keys(
            conn, project_id, [KeyUpdate("a", description="new", translations={"de": "Ah"})], later
        )
    assert [(k.name, k.description, k.updated_at) for k in updated] == [("a", "new", later)]
    async with services.db.transaction(readonly=True) as conn:
        [row] = await get_translations(conn, project_id, "de")
    assert (row.key, row.draft, row.published) == ("a", "Ah", None)


async def test_update_of_unknown_key_is_not_found_and_changes_nothing(
    services: Services, clock: FrozenClock, project_id: str
) -> None:
    async with services.db.transaction() as conn:
        await create_keys(conn, project_id, {"a": "old"}, clock.now())
    with pytest.raises(NotFound, match="missing"):
        async with services.db.transaction() as conn:
            await update_keys(
                conn,
                project_id,
                [KeyUpdate("a", description="new"), KeyUpdate("missing")],
                clock.now(),
            )
    async with services.db.transaction(readonly=True) as conn:
        assert (await list_keys(conn, project_id))[0].description == "old"


async def test_delete_keys_removes_their_translations(
    services: Services, clock: FrozenClock, project_id: str
) -> None:
    async with services.db.transaction() as conn:
        await create_keys(conn, project_id, {"a": "", "b": ""}, clock.now())
        await update_keys(conn, project_id, [KeyUpdate("a", translations={"de": "A"})], clock.now())
        assert await delete_keys(conn, project_id, ["a"], may_unpublish=True, now=clock.now()) == [
            "a"
        ]
    async with services.db.transaction(readonly=True) as conn:
        assert [k.name for k in await list_keys(conn, project_id)] == ["b"]
        count = await conn.scalar(select(func.count()).select_from(translations))
    assert count == 0


async def test_delete_of_a_key_in_another_project_is_not_found(
    services: Services, clock: FrozenClock, project_id: str
) -> None:
    async with services.db.transaction() as conn:
        await create_keys(conn, "prj_b", {"a": ""}, clock.now())
    with pytest.raises(NotFound):
        async with services.db.transaction() as conn:
            await delete_keys(conn, project_id, ["a"], may_unpublish=True, now=clock.now())
    async with services.db.transaction(readonly=True) as conn:
        assert len(await list_keys(conn, "prj_b")) == 1


async def test_delete_refuses_keys_with_published_text_unless_allowed(
    services: Services, clock: FrozenClock, project_id: str
) -> None:
    now = clock.now()
    async with services.db.transaction() as conn:
        await create_keys(conn, project_id, {"live": "", "draft": "", "bare": ""}, now)
        await update_keys(conn, project_id, [KeyUpdate("live", translations={"de": "L"})], now)
        await publish_translations(conn, project_id, ["de"], now)
        await update_keys(conn, project_id, [KeyUpdate("draft", translations={"de": "D"})], now)
    with pytest.raises(MissingScope) as refused:
        async with services.db.transaction() as conn:
            await delete_keys(
                conn, project_id, ["bare", "draft", "live"], may_unpublish=False, now=clock.now()
            )
    assert refused.value.required == "translations:publish"
    assert refused.value.description.endswith(": live.")
    async with services.db.transaction() as conn:
        assert [k.name for k in await list_keys(conn, project_id)] == ["bare", "draft", "live"]
        assert await delete_keys(
            conn, project_id, ["bare", "draft"], may_unpublish=False, now=clock.now()
        ) == [
            "bare",
            "draft",
        ]
        assert await delete_keys(
            conn, project_id, ["live"], may_unpublish=True, now=clock.now()
        ) == ["live"]
        assert await list_keys(conn, project_id) == []
