"""Translations: drafts by language, publishing, and the published view that never shows drafts."""

from __future__ import annotations

import pytest
from sqlalchemy import insert

from i18n_connect.clock import FrozenClock
from i18n_connect.errors import InvalidRequest, NotFound
from i18n_connect.platform.keys import create_keys
from i18n_connect.platform.translations import (
    get_translations,
    project_language_codes,
    publish_translations,
    published_translations,
    set_translations,
)
from i18n_connect.services import Services
from i18n_connect.storage.tables import project_languages


@pytest.fixture
async def keyed(services: Services, clock: FrozenClock, project_id: str) -> str:
    async with services.db.transaction() as conn:
        await create_keys(conn, project_id, {"hello": "", "bye": ""}, clock.now())
    return project_id


async def test_languages_are_the_source_then_the_others(services: Services, keyed: str) -> None:
    async with services.db.transaction(readonly=True) as conn:
        assert await project_language_codes(conn, keyed) == ["en", "de"]
        with pytest.raises(NotFound):
            await project_language_codes(conn, "prj_missing")


async def test_drafts_are_not_published_until_publish(
    services: Services, clock: FrozenClock, keyed: str
) -> None:
    async with services.db.transaction() as conn:
        assert await set_translations(conn, keyed, "de", {"hello": "Hallo"}, clock.now()) == 1
    async with services.db.transaction(readonly=True) as conn:
        [row] = await get_translations(conn, keyed, "de")
        assert (row.key, row.draft, row.published, row.published_at) == (
            "hello",
            "Hallo",
            None,
            None,
        )
        assert await published_translations(conn, keyed, "de") == {}
    published_at = clock.advance(minutes=1)
    async with services.db.transaction() as conn:
        assert await publish_translations(conn, keyed, ["de"], published_at) == 1
    async with services.db.transaction(readonly=True) as conn:
        assert await published_translations(conn, keyed, "de") == {"hello": "Hallo"}
        [row] = await get_translations(conn, keyed, "de")
        assert row.published_at == published_at


async def test_a_new_draft_leaves_the_published_text_live(
    services: Services, clock: FrozenClock, keyed: str
) -> None:
    async with services.db.transaction() as conn:
        await set_translations(conn, keyed, "de", {"hello": "Hallo"}, clock.now())
        await publish_translations(conn, keyed, None, clock.now())
        await set_translations(conn, keyed, "de", {"hello": "Servus"}, clock.now())
    async with services.db.transaction(readonly=True) as conn:
        assert await published_translations(conn, keyed, "de") == {"hello": "Hallo"}
        [row] = await get_translations(conn, keyed, "de", keys=["hello"])
        assert (row.draft, row.published) == ("Servus", "Hallo")


async def test_publish_counts_only_changed_drafts_and_only_chosen_languages(
    services: Services, clock: FrozenClock, keyed: str
) -> None:
    async with services.db.transaction() as conn:
        await set_translations(conn, keyed, "de", {"hello": "Hallo", "bye": "Tschüss"}, clock.now())
        await set_translations(conn, keyed, "en", {"hello": "Hello"}, clock.now())
        assert await publish_translations(conn, keyed, ["en"], clock.now()) == 1
        assert await published_translations(conn, keyed, "de") == {}
        assert await publish_translations(conn, keyed, None, clock.now()) == 2
        assert await publish_translations(conn, keyed, None, clock.now()) == 0
        assert await published_translations(conn, keyed, "de") == {
            "bye": "Tschüss",
            "hello": "Hallo",
        }


@pytest.mark.parametrize(
    ("language", "texts", "error"),
    [
        pytest.param(
            "fr", {"bye": "ok", "hello": "Bonjour"}, NotFound, id="language-not-in-project"
        ),
        pytest.param(
            "not a code", {"bye": "ok", "hello": "x"}, InvalidRequest, id="malformed-language"
        ),
        pytest.param("de", {"bye": "ok", "missing": "x"}, NotFound, id="unknown-key"),
        pytest.param("de", {}, InvalidRequest, id="empty"),
        pytest.param("de", {"bye": "ok", "hello": "x" * 20_001}, InvalidRequest, id="too-long"),
    ],
)
async def test_bad_writes_are_rejected_and_change_nothing(
    services: Services,
    clock: FrozenClock,
    keyed: str,
    language: str,
    texts: dict[str, str],
    error: type[Exception],
) -> None:
    with pytest.raises(error):
        async with services.db.transaction() as conn:
            await set_translations(conn, keyed, language, texts, clock.now())
    async with services.db.transaction(readonly=True) as conn:
        assert await get_translations(conn, keyed, "de") == []


async def test_publishing_an_unknown_language_is_not_found(
    services: Services, clock: FrozenClock, keyed: str
) -> None:
    async with services.db.transaction() as conn:
        await set_translations(conn, keyed, "de", {"hello": "Hallo"}, clock.now())
    with pytest.raises(NotFound, match="fr"):
        async with services.db.transaction() as conn:
            await publish_translations(conn, keyed, ["de", "fr"], clock.now())
    async with services.db.transaction(readonly=True) as conn:
        assert await published_translations(conn, keyed, "de") == {}


async def test_translations_of_another_project_are_invisible(
    services: Services, clock: FrozenClock, keyed: str
) -> None:
    async with services.db.transaction() as conn:
        await create_keys(conn, "prj_b", {"hello": ""}, clock.now())
        await set_translations(conn, "prj_b", "en", {"hello": "other"}, clock.now())
        await publish_translations(conn, "prj_b", None, clock.now())
        assert await published_translations(conn, keyed, "en") == {}
        assert await get_translations(conn, keyed, "en") == []


async def test_language_codes_are_compared_in_canonical_form(
    services: Services, clock: FrozenClock, keyed: str
) -> None:
    async with services.db.transaction() as conn:
        await conn.execute(
            insert(project_languages).values(project_id=keyed, code="pt-BR", created_at=clock.now())
        )
        await set_translations(conn, keyed, "pt-br", {"hello": "Olá"}, clock.now())
        assert await publish_translations(conn, keyed, ["PT_br"], clock.now()) == 1
        assert await published_translations(conn, keyed, "pt-BR") == {"hello": "Olá"}
