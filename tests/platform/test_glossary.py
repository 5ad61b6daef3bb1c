"""Glossary: create-or-replace terms by name, list, delete, validation."""

from __future__ import annotations

import pytest

from i18n_connect.clock import FrozenClock
from i18n_connect.errors import InvalidRequest, NotFound
from i18n_connect.platform.glossary import TermInput, delete_terms, list_terms, save_terms
from i18n_connect.services import Services


async def test_save_creates_then_replaces_a_term(
    services: Services, clock: FrozenClock, project_id: str
) -> None:
    async with services.db.transaction() as conn:
        [created] = await save_terms(
            conn,
            project_id,
            [TermInput("Workspace", "A team", {"de": "Arbeitsbereich"})],
            clock.now(),
        )
    later = clock.advance(hours=1)
    async with services.db.transaction() as conn:
        [replaced] = await save_terms(
            conn, project_id, [TermInput("Workspace", "", {"fr": "Espace"})], later
        )
    assert replaced.id == created.id
    assert (replaced.description, replaced.translations) == ("", {"fr": "Espace"})
    assert (replaced.created_at, replaced.updated_at) == (created.created_at, later)
    async with services.db.transaction(readonly=True) as conn:
        assert await list_terms(conn, project_id) == [replaced]
        assert await list_terms(conn, "prj_b") == []


@pytest.mark.parametrize(
    "terms",
    [
        pytest.param([], id="empty"),
        pytest.param([TermInput(" x")], id="whitespace"),
        pytest.param([TermInput("x" * 201)], id="too-long"),
        pytest.param([TermInput("a"), TermInput("a")], id="duplicate"),
        pytest.param([TermInput("a", translations={"no code": "x"})], id="bad-language"),
        pytest.param([TermInput("a", translations={"de": ""})], id="empty-translation"),
    ],
)
async def test_invalid_terms_are_rejected(
    services: Services, clock: FrozenClock, project_id: str, terms: list[TermInput]
) -> None:
    with pytest.raises(InvalidRequest):
        async with services.db.transaction() as conn:
            await save_terms(conn, project_id, terms, clock.now())
    async with services.db.transaction(readonly=True) as conn:
        assert await list_terms(conn, project_id) == []


async def test_delete_terms_and_unknown_terms(
    services: Services, clock: FrozenClock, project_id: str
) -> None:
    async with services.db.transaction() as conn:
        await save_terms(conn, project_id, [TermInput("a"), TermInput("b")], clock.now())
        await save_terms(conn, "prj_b", [TermInput("c")], clock.now())
    with pytest.raises(NotFound, match="c"):
        async with services.db.transaction() as conn:
            await delete_terms(conn, project_id, ["a", "c"])
    async with services.db.transaction() as conn:
        assert await delete_terms(conn, project_id, ["a"]) == ["a"]
        assert [t.term for t in await list_terms(conn, project_id)] == ["b"]
        assert [t.term for t in await list_terms(conn, "prj_b")] == ["c"]
