"""Content models and entries: field validation, draft merging, publishing."""

from __future__ import annotations

from typing import Any

import pytest

from i18n_connect.clock import FrozenClock
from i18n_connect.errors import ConflictError, InvalidRequest, NotFound
from i18n_connect.platform.content import (
    create_model,
    get_entry,
    list_entries,
    list_models,
    publish_entries,
    save_entry,
)
from i18n_connect.services import Services

FIELDS = [
    {"name": "title", "type": "text", "localized": True},
    {"name": "price", "type": "number"},
    {"name": "visible", "type": "boolean"},
]


@pytest.fixture
async def model(services: Services, clock: FrozenClock, project_id: str) -> str:
    async with services.db.transaction() as conn:
        created = await create_model(
            conn, project_id, slug="product", name="Product", fields=FIELDS, now=clock.now()
        )
    assert created.fields[1] == {"name": "price", "type": "number", "localized": False}
    return created.slug


async def test_models_are_listed_per_project_and_slugs_are_unique(
    services: Services, clock: FrozenClock, project_id: str, model: str
) -> None:
    async with services.db.transaction() as conn:
        assert [m.slug for m in await list_models(conn, project_id)] == ["product"]
        assert await list_models(conn, "prj_b") == []
        await create_model(conn, "prj_b", slug="product", name="P", fields=FIELDS, now=clock.now())
    with pytest.raises(ConflictError):
        async with services.db.transaction() as conn:
            await create_model(
                conn, project_id, slug="product", name="P", fields=FIELDS, now=clock.now()
            )


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param([], id="no-fields"),
        pytest.param([{"name": "1x", "type": "text"}], id="bad-name"),
        pytest.param([{"name": "x", "type": "date"}], id="unknown-type"),
        pytest.param([{"name": "x", "type": "number", "localized": True}], id="localized-number"),
        pytest.param(
            [{"name": "x", "type": "text"}, {"name": "x", "type": "text"}], id="duplicate"
        ),
    ],
)
async def test_invalid_models_are_rejected(
    services: Services, clock: FrozenClock, project_id: str, fields: list[dict[str, Any]]
) -> None:
    with pytest.raises(InvalidRequest):
        async with services.db.transaction() as conn:
            await create_model(conn, project_id, slug="m", name="M", fields=fields, now=clock.now())
    async with services.db.transaction(readonly=True) as conn:
        assert await list_models(conn, project_id) == []


async def test_entry_drafts_merge_and_publish_copies_them(
    services: Services, clock: FrozenClock, project_id: str, model: str
) -> None:
    async with services.db.transaction() as conn:
        first = await save_entry(
            conn, project_id, model, "shoe", {"title": {"en": "Shoe"}, "price": 10}, clock.now()
        )
    assert (first.draft, first.published) == ({"title": {"en": "Shoe"}, "price": 10}, None)
    async with services.db.transaction() as conn:
        await save_entry(conn, project_id, model, "shoe", {"title": {"de": "Schuh"}}, clock.now())
        assert await publish_entries(conn, project_id, model, ["shoe"], clock.now()) == ["shoe"]
        await save_entry(conn, project_id, model, "shoe", {"visible": True}, clock.now())
    async with services.db.transaction(readonly=True) as conn:
        entry = await get_entry(conn, project_id, model, "shoe")
        assert entry.published == {"title": {"en": "Shoe", "de": "Schuh"}, "price": 10}
        assert entry.draft == {"title": {"en": "Shoe", "de": "Schuh"}, "price": 10, "visible": True}
        assert entry.published_at == clock.now()
        assert [e.slug for e in await list_entries(conn, project_id, model)] == ["shoe"]


@pytest.mark.parametrize(
    ("data", "error"),
    [
        pytest.param({"colour": "red"}, InvalidRequest, id="unknown-field"),
        pytest.param({"title": "Shoe"}, InvalidRequest, id="localized-needs-object"),
        pytest.param({"title": {"xx yy": "Shoe"}}, InvalidRequest, id="bad-language"),
        pytest.param({"price": "10"}, InvalidRequest, id="number-as-text"),
        pytest.param({"price": True}, InvalidRequest, id="bool-as-number"),
        pytest.param({"visible": 1}, InvalidRequest, id="number-as-bool"),
    ],
)
async def test_invalid_entries_are_rejected(
    services: Services,
    clock: FrozenClock,
    project_id: str,
    model: str,
    data: dict[str, Any],
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        async with services.db.transaction() as conn:
            await save_entry(conn, project_id, model, "shoe", data, clock.now())
    async with services.db.transaction(readonly=True) as conn:
        assert await list_entries(conn, project_id, model) == []


async def test_unknown_model_entry_and_foreign_project_are_not_found(
    services: Services, clock: FrozenClock, project_id: str, model: str
) -> None:
    async with services.db.transaction() as conn:
        await save_entry(conn, project_id, model, "shoe", {"price": 1}, clock.now())
        with pytest.raises(NotFound):
            await list_entries(conn, "prj_b", model)
        with pytest.raises(NotFound):
            await get_entry(conn, project_id, model, "boot")
        with pytest.raises(NotFound, match="boot"):
            await publish_entries(conn, project_id, model, ["shoe", "boot"], clock.now())
        assert (await get_entry(conn, project_id, model, "shoe")).published is None
