"""Keys, translations, publishing, glossary and content entries over the partner API
(SPEC §4 "also get REST routes under /v1/…", with the scopes of the MCP tools of §5).

Writes land as drafts; only the publish routes change what the CDN serves — and deleting
a key with published text, which therefore needs translations:publish as well.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query

from i18n_connect import access
from i18n_connect.api import listings
from i18n_connect.api.auth import Caller, installation_caller
from i18n_connect.api.cursors import DEFAULT_LIMIT, CursorQuery, LimitQuery
from i18n_connect.api.json_route import JsonBodyRoute
from i18n_connect.api.models import (
    ContentEntryOut,
    CreateKeysRequest,
    DeleteKeysRequest,
    DeleteTermsRequest,
    EntriesOut,
    GlossaryOut,
    GlossaryTermOut,
    KeyOut,
    KeysOut,
    NamesOut,
    PublishCountOut,
    PublishedEntriesOut,
    PublishEntriesRequest,
    PublishRequest,
    SaveEntryRequest,
    SaveGlossaryRequest,
    SetTranslationsRequest,
    TranslationsOut,
    UpdateKeysRequest,
    WrittenOut,
)
from i18n_connect.api.resource_routes import ERRORS
from i18n_connect.platform import content, glossary, keys, translations
from i18n_connect.platform.projects import normalize_language
from i18n_connect.scopes import PUBLISH_TRANSLATIONS

__all__ = ["router"]

router = APIRouter(
    prefix="/api/oauth-client/v1/projects/{project_id}",
    tags=["translations"],
    route_class=JsonBodyRoute,
)


def _needs(scope: str, *, write: bool = False) -> object:
    return Depends(installation_caller(scope, write=write), scope="function")


KeysRead = Annotated[Caller, _needs("keys:read")]
KeysWrite = Annotated[Caller, _needs("keys:write", write=True)]
TranslationsRead = Annotated[Caller, _needs("translations:read")]
TranslationsWrite = Annotated[Caller, _needs("translations:write", write=True)]
TranslationsPublish = Annotated[Caller, _needs(PUBLISH_TRANSLATIONS, write=True)]
GlossaryRead = Annotated[Caller, _needs("glossary:read")]
GlossaryWrite = Annotated[Caller, _needs("glossary:write", write=True)]
ContentRead = Annotated[Caller, _needs("content:read")]
ContentWrite = Annotated[Caller, _needs("content:write", write=True)]
ContentPublish = Annotated[Caller, _needs("content:publish", write=True)]
Id = Annotated[str, Path(max_length=64)]
Language = Annotated[str, Path(max_length=35)]
Slug = Annotated[str, Path(max_length=64)]


@router.get("/keys", response_model=KeysOut, responses=ERRORS)
async def list_project_keys(
    caller: KeysRead,
    project_id: Id,
    prefix: Annotated[str | None, Query(max_length=500)] = None,
    limit: LimitQuery = DEFAULT_LIMIT,
    offset: Annotated[
        int, Query(ge=0, le=10_000_000, description="Deprecated: follow next_cursor instead.")
    ] = 0,
    cursor: CursorQuery = None,
) -> KeysOut:
    """Keys by name, a page at a time: follow ``next_cursor`` (stable while keys are added);
    ``offset`` still skips that many."""
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    return await listings.keys_page(
        caller.conn,
        caller.services,
        project.id,
        prefix=prefix,
        limit=limit,
        offset=offset,
        cursor=cursor,
    )


@router.post("/keys", status_code=201, response_model=KeysOut, responses=ERRORS)
async def create_project_keys(
    caller: KeysWrite, project_id: Id, body: CreateKeysRequest
) -> KeysOut:
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    created = await keys.create_keys(
        caller.conn,
        project.id,
        [(key.name, key.description) for key in body.keys],
        caller.now,
        namespaces={key.name: key.namespace for key in body.keys},
    )
    return KeysOut(keys=[KeyOut.of(key) for key in created])


@router.patch("/keys", response_model=KeysOut, responses=ERRORS)
async def update_project_keys(
    caller: TranslationsWrite, project_id: Id, body: UpdateKeysRequest
) -> KeysOut:
    """Change key descriptions and write draft translations."""
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    updates = [keys.KeyUpdate(k.name, k.description, k.translations) for k in body.keys]
    updated = await keys.update_keys(caller.conn, project.id, updates, caller.now)
    return KeysOut(keys=[KeyOut.of(key) for key in updated])


@router.post("/keys/delete", response_model=NamesOut, responses=ERRORS)
async def delete_project_keys(
    caller: KeysWrite, project_id: Id, body: DeleteKeysRequest
) -> NamesOut:
    """Delete keys by name, with their translations; a key with published text also needs
    translations:publish (403 ``missing_scope``, nothing deleted)."""
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    may_unpublish = PUBLISH_TRANSLATIONS in caller.context.scopes
    deleted = await keys.delete_keys(
        caller.conn, project.id, body.names, may_unpublish=may_unpublish, now=caller.now
    )
    return NamesOut(deleted=deleted)


@router.get("/translations/{language}", response_model=TranslationsOut, responses=ERRORS)
async def get_project_translations(
    caller: TranslationsRead,
    project_id: Id,
    language: Language,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> TranslationsOut:
    """Drafts and published texts of one language, by key name."""
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    return await listings.translations_page(
        caller.conn, caller.services, project.id, language, limit=limit, cursor=cursor
    )


@router.put("/translations/{language}", response_model=WrittenOut, responses=ERRORS)
async def set_project_translations(
    caller: TranslationsWrite, project_id: Id, language: Language, body: SetTranslationsRequest
) -> WrittenOut:
    """Write draft translations of one language (key name → text)."""
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    written = await translations.set_translations(
        caller.conn, project.id, language, body.translations, caller.now
    )
    return WrittenOut(language=normalize_language(language), written=written)


@router.post("/publish", response_model=PublishCountOut, responses=ERRORS)
async def publish_project_translations(
    caller: TranslationsPublish, project_id: Id, body: PublishRequest
) -> PublishCountOut:
    """Publish changed drafts of the given languages (all when absent)."""
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    count = await translations.publish_translations(
        caller.conn, project.id, body.languages, caller.now
    )
    return PublishCountOut(published=count)


@router.get("/glossary", response_model=GlossaryOut, responses=ERRORS)
async def get_project_glossary(
    caller: GlossaryRead,
    project_id: Id,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> GlossaryOut:
    """The glossary's terms, by term."""
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    return await listings.glossary_page(
        caller.conn, caller.services, project.id, limit=limit, cursor=cursor
    )


@router.put("/glossary", response_model=GlossaryOut, responses=ERRORS)
async def save_project_glossary(
    caller: GlossaryWrite, project_id: Id, body: SaveGlossaryRequest
) -> GlossaryOut:
    """Create or replace terms by name; the saved terms."""
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    inputs = [glossary.TermInput(t.term, t.description, t.translations) for t in body.terms]
    saved = await glossary.save_terms(caller.conn, project.id, inputs, caller.now)
    return GlossaryOut(terms=[GlossaryTermOut.of(term) for term in saved])


@router.post("/glossary/delete", response_model=NamesOut, responses=ERRORS)
async def delete_project_glossary_terms(
    caller: GlossaryWrite, project_id: Id, body: DeleteTermsRequest
) -> NamesOut:
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    return NamesOut(deleted=await glossary.delete_terms(caller.conn, project.id, body.terms))


@router.get("/models/{model_slug}/entries", response_model=EntriesOut, responses=ERRORS)
async def list_model_entries(
    caller: ContentRead,
    project_id: Id,
    model_slug: Slug,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> EntriesOut:
    """The model's entries, by slug."""
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    return await listings.entries_page(
        caller.conn, caller.services, project.id, model_slug, limit=limit, cursor=cursor
    )


@router.get(
    "/models/{model_slug}/entries/{entry_slug}", response_model=ContentEntryOut, responses=ERRORS
)
async def get_model_entry(
    caller: ContentRead, project_id: Id, model_slug: Slug, entry_slug: Slug
) -> ContentEntryOut:
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    return ContentEntryOut.of(
        await content.get_entry(caller.conn, project.id, model_slug, entry_slug)
    )


@router.put(
    "/models/{model_slug}/entries/{entry_slug}", response_model=ContentEntryOut, responses=ERRORS
)
async def save_model_entry(
    caller: ContentWrite, project_id: Id, model_slug: Slug, entry_slug: Slug, body: SaveEntryRequest
) -> ContentEntryOut:
    """Create an entry or change its draft; fields not named keep their draft value."""
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    entry = await content.save_entry(
        caller.conn, project.id, model_slug, entry_slug, body.data, caller.now
    )
    return ContentEntryOut.of(entry)


@router.post("/models/{model_slug}/publish", response_model=PublishedEntriesOut, responses=ERRORS)
async def publish_model_entries(
    caller: ContentPublish, project_id: Id, model_slug: Slug, body: PublishEntriesRequest
) -> PublishedEntriesOut:
    """Publish the drafts of the named entries (all when absent); the slugs published."""
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    published = await content.publish_entries(
        caller.conn, project.id, model_slug, body.entries, caller.now
    )
    return PublishedEntriesOut(published=published)
