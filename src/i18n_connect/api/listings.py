"""The pages of the partner API's lists, for its routes and the MCP tools alike: one
function per list decodes the cursor (bound to that list, `api.cursors`), asks the domain
for ``limit + 1`` items after its position, and answers the response body with
``next_cursor``. The same arguments give the same body through either door."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.access import Reach, visible_projects_page
from i18n_connect.api.cursors import cursors_of
from i18n_connect.api.models import (
    ContentEntryOut,
    ContentModelOut,
    EntriesOut,
    GlossaryOut,
    GlossaryTermOut,
    KeyOut,
    KeysOut,
    ModelsOut,
    OrganizationOut,
    OrganizationsOut,
    ProjectOut,
    ProjectsOut,
    TranslationOut,
    TranslationsOut,
)
from i18n_connect.platform import content, glossary, keys, translations
from i18n_connect.platform.organizations import Organization
from i18n_connect.platform.projects import normalize_language
from i18n_connect.services import Services

__all__ = [
    "entries_page",
    "glossary_page",
    "keys_page",
    "models_page",
    "organizations_page",
    "projects_page",
    "translations_page",
]


def organizations_page(
    services: Services, organization: Organization, *, limit: int, cursor: str | None
) -> OrganizationsOut:
    """The caller's one organization, as a list by id."""
    cursors, listing = cursors_of(services), f"organizations:{organization.id}"
    after = cursors.decode(listing, cursor, (str,))
    found = [organization] if after is None or organization.id > str(after[0]) else []
    page, next_cursor = cursors.page(listing, found, limit, lambda org: (org.id,))
    return OrganizationsOut(
        organizations=[OrganizationOut.of(org) for org in page], next_cursor=next_cursor
    )


async def projects_page(
    conn: AsyncConnection, services: Services, reach: Reach, *, limit: int, cursor: str | None
) -> ProjectsOut:
    """The projects of the caller's organization that it may see, by name, then slug."""
    cursors, listing = cursors_of(services), f"projects:{reach.organization_id}"
    after = cursors.decode(listing, cursor, (str, str))
    found = await visible_projects_page(
        conn,
        reach,
        after=(str(after[0]), str(after[1])) if after is not None else None,
        limit=limit + 1,
    )
    page, next_cursor = cursors.page(listing, found, limit, lambda p: (p.name, p.slug))
    return ProjectsOut(projects=[ProjectOut.of(p) for p in page], next_cursor=next_cursor)


async def models_page(
    conn: AsyncConnection, services: Services, project_id: str, *, limit: int, cursor: str | None
) -> ModelsOut:
    """A project's content models, by slug."""
    cursors, listing = cursors_of(services), f"models:{project_id}"
    after = cursors.decode(listing, cursor, (str,))
    found = await content.list_models(
        conn, project_id, after=str(after[0]) if after else None, limit=limit + 1
    )
    page, next_cursor = cursors.page(listing, found, limit, lambda model: (model.slug,))
    return ModelsOut(models=[ContentModelOut.of(m) for m in page], next_cursor=next_cursor)


async def keys_page(
    conn: AsyncConnection,
    services: Services,
    project_id: str,
    *,
    prefix: str | None,
    limit: int,
    offset: int,
    cursor: str | None,
) -> KeysOut:
    """A project's keys by name (under ``prefix``, if given); ``offset`` skips that many
    after the cursor's position (kept for clients that paged by offset)."""
    cursors, listing = cursors_of(services), f"keys:{project_id}"
    after = cursors.decode(listing, cursor, (str,))
    found = await keys.list_keys(
        conn,
        project_id,
        prefix=prefix,
        limit=limit + 1,
        offset=offset,
        after=str(after[0]) if after else None,
    )
    page, next_cursor = cursors.page(listing, found, limit, lambda key: (key.name,))
    return KeysOut(keys=[KeyOut.of(key) for key in page], next_cursor=next_cursor)


async def translations_page(
    conn: AsyncConnection,
    services: Services,
    project_id: str,
    language: str,
    *,
    limit: int,
    cursor: str | None,
    keys: Sequence[str] | None = None,
) -> TranslationsOut:
    """Drafts and published texts of one language, by key name (of ``keys`` only, if
    given)."""
    code = normalize_language(language)
    cursors, listing = cursors_of(services), f"translations:{project_id}:{code}"
    after = cursors.decode(listing, cursor, (str,))
    found = await translations.get_translations(
        conn,
        project_id,
        language,
        keys=keys,
        after=str(after[0]) if after else None,
        limit=limit + 1,
    )
    page, next_cursor = cursors.page(listing, found, limit, lambda text: (text.key,))
    return TranslationsOut(
        language=code,
        translations=[TranslationOut.of(text) for text in page],
        next_cursor=next_cursor,
    )


async def glossary_page(
    conn: AsyncConnection, services: Services, project_id: str, *, limit: int, cursor: str | None
) -> GlossaryOut:
    """A project's glossary terms, by term."""
    cursors, listing = cursors_of(services), f"glossary:{project_id}"
    after = cursors.decode(listing, cursor, (str,))
    found = await glossary.list_terms(
        conn, project_id, after=str(after[0]) if after else None, limit=limit + 1
    )
    page, next_cursor = cursors.page(listing, found, limit, lambda term: (term.term,))
    return GlossaryOut(terms=[GlossaryTermOut.of(t) for t in page], next_cursor=next_cursor)


async def entries_page(
    conn: AsyncConnection,
    services: Services,
    project_id: str,
    model_slug: str,
    *,
    limit: int,
    cursor: str | None,
) -> EntriesOut:
    """A content model's entries, by slug."""
    cursors, listing = cursors_of(services), f"entries:{project_id}:{model_slug}"
    after = cursors.decode(listing, cursor, (str,))
    found = await content.list_entries(
        conn, project_id, model_slug, after=str(after[0]) if after else None, limit=limit + 1
    )
    page, next_cursor = cursors.page(listing, found, limit, lambda entry: (entry.slug,))
    return EntriesOut(entries=[ContentEntryOut.of(e) for e in page], next_cursor=next_cursor)
