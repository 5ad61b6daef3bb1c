"""Projects on both backends: slugs unique per organization, language tags, listing."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from i18n_connect.clock import FrozenClock
from i18n_connect.errors import ConflictError, InvalidRequest, NotFound
from i18n_connect.platform import organizations as orgs
from i18n_connect.platform import projects
from i18n_connect.platform.accounts import create_user
from i18n_connect.services import Services
from i18n_connect.storage.tables import project_languages
from i18n_connect.storage.tables import projects as projects_table


async def _two_organizations(
    services: Services, clock: FrozenClock
) -> tuple[orgs.Organization, orgs.Organization]:
    async with services.db.transaction() as conn:
        user = await create_user(
            conn, email="alice@example.com", password="correct horse", name=None, now=clock.now()
        )
        acme = await orgs.create_organization(
            conn, slug="acme", name="Acme", owner_user_id=user.id, now=clock.now()
        )
        globex = await orgs.create_organization(
            conn, slug="globex", name="Globex", owner_user_id=user.id, now=clock.now()
        )
    return acme, globex


async def test_a_new_project_has_its_source_language(
    services: Services, clock: FrozenClock
) -> None:
    acme, _ = await _two_organizations(services, clock)
    async with services.db.transaction() as conn:
        project = await projects.create_project(
            conn,
            organization_id=acme.id,
            name=" Web app ",
            slug="web",
            source_language="en",
            now=clock.now(),
        )
    assert project.id.startswith("prj_")
    assert (project.organization_id, project.slug, project.name) == (acme.id, "web", "Web app")
    assert (project.source_language, project.languages, project.target_languages) == (
        "en",
        ("en",),
        (),
    )
    assert project.created_at == clock.now()
    async with services.db.transaction(readonly=True) as conn:
        assert await projects.get_project(conn, project.id) == project
        assert await projects.get_project_by_slug(conn, acme.id, "web") == project


async def test_languages_are_canonical_source_first_then_sorted(
    services: Services, clock: FrozenClock
) -> None:
    acme, _ = await _two_organizations(services, clock)
    async with services.db.transaction() as conn:
        project = await projects.create_project(
            conn,
            organization_id=acme.id,
            name="Web",
            slug="web",
            source_language="EN-us",
            target_languages=("pt_br", "de", "de"),
            now=clock.now(),
        )
        assert project.languages == ("en-US", "de", "pt-BR")
        project = await projects.add_language(conn, project.id, "zh-hant-tw", clock.now())
        project = await projects.add_language(conn, project.id, "es-419", clock.now())
    assert project.languages == ("en-US", "de", "es-419", "pt-BR", "zh-Hant-TW")
    assert project.target_languages == ("de", "es-419", "pt-BR", "zh-Hant-TW")
    async with services.db.transaction(readonly=True) as conn:
        assert await projects.get_project(conn, project.id) == project


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("en", "en"),
        ("FR", "fr"),
        ("pt-br", "pt-BR"),
        ("en_GB", "en-GB"),
        ("sr-latn", "sr-Latn"),
        ("zh-Hant-TW", "zh-Hant-TW"),
        ("es-419", "es-419"),
        ("de-CH-1996", "de-CH-1996"),
        ("fil", "fil"),
    ],
)
def test_language_tags_are_normalized(given: str, canonical: str) -> None:
    assert projects.normalize_language(given) == canonical


@pytest.mark.parametrize(
    "code",
    ["", "e", "english", "en-", "en--US", "en-USA1", "12", "en US", "x-klingon", "en-" + "a" * 40],
)
def test_malformed_language_tags_are_invalid_requests(code: str) -> None:
    with pytest.raises(InvalidRequest, match="not a language tag"):
        projects.normalize_language(code)


async def test_project_slug_is_unique_per_organization_only(
    services: Services, clock: FrozenClock
) -> None:
    acme, globex = await _two_organizations(services, clock)
    async with services.db.transaction() as conn:
        first = await projects.create_project(
            conn,
            organization_id=acme.id,
            name="Web",
            slug="web",
            source_language="en",
            now=clock.now(),
        )
        other = await projects.create_project(
            conn,
            organization_id=globex.id,
            name="Web",
            slug="web",
            source_language="de",
            now=clock.now(),
        )
    assert first.id != other.id
    with pytest.raises(ConflictError, match="slug 'web' already exists"):
        async with services.db.transaction() as conn:
            await projects.create_project(
                conn,
                organization_id=acme.id,
                name="Again",
                slug="web",
                source_language="fr",
                now=clock.now(),
            )
    async with services.db.transaction(readonly=True) as conn:
        assert await conn.scalar(select(func.count()).select_from(projects_table)) == 2
        assert await conn.scalar(select(func.count()).select_from(project_languages)) == 2
        assert await projects.get_project_by_slug(conn, globex.id, "web") == other


@pytest.mark.parametrize(
    ("arguments", "error", "message"),
    [
        ({"slug": "Web App"}, InvalidRequest, "project slug"),
        ({"name": ""}, InvalidRequest, "project name"),
        ({"source_language": "english"}, InvalidRequest, "not a language tag"),
        ({"organization_id": "org_missing"}, NotFound, "no such organization"),
    ],
    ids=["bad-slug", "empty-name", "bad-language", "unknown-organization"],
)
async def test_bad_project_input_creates_nothing(
    services: Services,
    clock: FrozenClock,
    arguments: dict[str, str],
    error: type[Exception],
    message: str,
) -> None:
    acme, _ = await _two_organizations(services, clock)
    values = {
        "organization_id": acme.id,
        "name": "Web",
        "slug": "web",
        "source_language": "en",
        **arguments,
    }
    with pytest.raises(error, match=message):
        async with services.db.transaction() as conn:
            await projects.create_project(conn, **values, now=clock.now())
    async with services.db.transaction(readonly=True) as conn:
        assert await conn.scalar(select(func.count()).select_from(projects_table)) == 0


async def test_adding_a_language_twice_or_to_an_unknown_project_is_refused(
    services: Services, clock: FrozenClock
) -> None:
    acme, _ = await _two_organizations(services, clock)
    async with services.db.transaction() as conn:
        project = await projects.create_project(
            conn,
            organization_id=acme.id,
            name="Web",
            slug="web",
            source_language="en",
            target_languages=("de",),
            now=clock.now(),
        )
    for code in ("de", "DE", "en"):
        with pytest.raises(ConflictError, match="already has the language"):
            async with services.db.transaction() as conn:
                await projects.add_language(conn, project.id, code, clock.now())
    with pytest.raises(NotFound, match="no such project"):
        async with services.db.transaction() as conn:
            await projects.add_language(conn, "prj_missing", "fr", clock.now())
    with pytest.raises(InvalidRequest):
        async with services.db.transaction() as conn:
            await projects.add_language(conn, project.id, "not a tag", clock.now())
    async with services.db.transaction(readonly=True) as conn:
        assert await projects.get_project(conn, project.id) == project


async def test_projects_are_listed_by_name_per_organization(
    services: Services, clock: FrozenClock
) -> None:
    acme, globex = await _two_organizations(services, clock)
    async with services.db.transaction() as conn:
        mobile = await projects.create_project(
            conn,
            organization_id=acme.id,
            name="Mobile",
            slug="mobile",
            source_language="en",
            target_languages=("fr",),
            now=clock.now(),
        )
        docs = await projects.create_project(
            conn,
            organization_id=acme.id,
            name="Docs",
            slug="docs",
            source_language="de",
            now=clock.now(),
        )
        await projects.create_project(
            conn,
            organization_id=globex.id,
            name="Shop",
            slug="shop",
            source_language="en",
            now=clock.now(),
        )
    async with services.db.transaction(readonly=True) as conn:
        assert await projects.list_projects(conn, acme.id) == [docs, mobile]
        assert await projects.list_projects(conn, "org_missing") == []
        assert await projects.get_project(conn, "prj_missing") is None
        assert await projects.get_project_by_slug(conn, globex.id, "docs") is None


async def test_two_concurrent_creations_of_one_project_slug_give_one_project_and_a_conflict(
    services: Services, clock: FrozenClock
) -> None:
    acme, _ = await _two_organizations(services, clock)

    async def create() -> projects.Project:
        async with services.db.transaction() as conn:
            return await projects.create_project(
                conn,
                organization_id=acme.id,
                name="Second",
                slug="web",
                source_language="fr",
                now=clock.now(),
            )

    async with services.db.transaction() as first:
        winner = await projects.create_project(
            first,
            organization_id=acme.id,
            name="First",
            slug="web",
            source_language="en",
            now=clock.now(),
        )
        second = asyncio.create_task(create())
        await asyncio.sleep(0.3)  # let the second insert wait on the first one's lock
    with pytest.raises(ConflictError, match="slug 'web' already exists"):
        await second
    async with services.db.transaction(readonly=True) as conn:
        assert await projects.list_projects(conn, acme.id) == [winner]
        assert await conn.scalar(select(func.count()).select_from(project_languages)) == 1
