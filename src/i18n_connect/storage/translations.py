"""The ``translation_keys`` and ``translations`` tables (a key and its texts): the only module
that reads or writes them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, delete, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.tables import translation_keys, translations
from i18n_connect.storage.unique import insert_unique

__all__ = [
    "KeyText",
    "PublishedText",
    "Translation",
    "TranslationKey",
    "delete_keys",
    "existing_key_names",
    "get_keys",
    "insert_keys",
    "key_ids_by_name",
    "key_texts",
    "keys_with_published_text",
    "list_keys",
    "list_translations",
    "project_namespaces",
    "publish_drafts",
    "published_by_namespace",
    "published_texts",
    "revert_drafts",
    "save_drafts",
    "update_key_description",
]

_IN_CHUNK = 500  # keep IN lists bounded


@dataclass(frozen=True, slots=True)
class TranslationKey:
    id: str
    project_id: str
    name: str
    description: str
    created_at: datetime
    updated_at: datetime
    namespace: str = "common"


_KEY_COLUMNS = (
    translation_keys.c.id,
    translation_keys.c.project_id,
    translation_keys.c.name,
    translation_keys.c.description,
    translation_keys.c.created_at,
    translation_keys.c.updated_at,
    translation_keys.c.namespace,
)


def _key(row: Any) -> TranslationKey:
    return TranslationKey(
        id=row.id,
        project_id=row.project_id,
        name=row.name,
        description=row.description,
        created_at=row.created_at,
        updated_at=row.updated_at,
        namespace=row.namespace,
    )


def _chunks(values: Sequence[str]) -> list[list[str]]:
    return [list(values[start : start + _IN_CHUNK]) for start in range(0, len(values), _IN_CHUNK)]


async def list_keys(
    conn: AsyncConnection,
    *,
    project_id: str,
    prefix: str | None,
    limit: int,
    offset: int,
    after: str | None = None,
) -> list[TranslationKey]:
    """The project's keys by name, optionally only those starting with ``prefix`` and those
    after the name ``after``."""
    query = select(*_KEY_COLUMNS).where(translation_keys.c.project_id == project_id)
    if prefix:
        query = query.where(translation_keys.c.name.startswith(prefix, autoescape=True))
    if after is not None:
        query = query.where(translation_keys.c.name > after)
    rows = await conn.execute(query.order_by(translation_keys.c.name).limit(limit).offset(offset))
    return [_key(row) for row in rows]


async def get_keys(conn: AsyncConnection, *, key_ids: Sequence[str]) -> list[TranslationKey]:
    """The keys with these ids, by name."""
    rows = await conn.execute(
        select(*_KEY_COLUMNS)
        .where(translation_keys.c.id.in_(list(key_ids)))
        .order_by(translation_keys.c.name)
    )
    return [_key(row) for row in rows]


async def key_ids_by_name(
    conn: AsyncConnection, *, project_id: str, names: Sequence[str]
) -> dict[str, str]:
    """Key name → id for those of ``names`` that exist in the project."""
    found: dict[str, str] = {}
    for chunk in _chunks(names):
        rows = await conn.execute(
            select(translation_keys.c.name, translation_keys.c.id).where(
                translation_keys.c.project_id == project_id,
                translation_keys.c.name.in_(chunk),
            )
        )
        found.update({row.name: row.id for row in rows})
    return found


async def existing_key_names(
    conn: AsyncConnection, *, project_id: str, names: Sequence[str]
) -> list[str]:
    """Those of ``names`` that are keys of the project, sorted."""
    return sorted(await key_ids_by_name(conn, project_id=project_id, names=names))


async def insert_keys(conn: AsyncConnection, *, keys: Sequence[TranslationKey]) -> bool:
    """Insert the keys together; ``False`` (none inserted) when a name was taken meanwhile."""
    rows = [
        {
            "id": key.id,
            "project_id": key.project_id,
            "name": key.name,
            "description": key.description,
            "created_at": key.created_at,
            "updated_at": key.updated_at,
            "namespace": key.namespace,
        }
        for key in keys
    ]
    return await insert_unique(conn, insert(translation_keys), rows)


async def update_key_description(
    conn: AsyncConnection, *, key_id: str, description: str, updated_at: datetime
) -> None:
    await conn.execute(
        update(translation_keys)
        .where(translation_keys.c.id == key_id)
        .values(description=description, updated_at=updated_at)
    )


async def keys_with_published_text(conn: AsyncConnection, *, key_ids: Sequence[str]) -> set[str]:
    """Those of ``key_ids`` with a published text in any language."""
    live: set[str] = set()
    for chunk in _chunks(key_ids):
        live.update(
            await conn.scalars(
                select(translations.c.key_id)
                .where(translations.c.key_id.in_(chunk), translations.c.published.is_not(None))
                .distinct()
            )
        )
    return live


async def delete_keys(conn: AsyncConnection, *, key_ids: Sequence[str]) -> None:
    """Delete the keys; their translations go with them (``ON DELETE CASCADE``)."""
    await conn.execute(delete(translation_keys).where(translation_keys.c.id.in_(list(key_ids))))


@dataclass(frozen=True, slots=True)
class Translation:
    key: str
    language: str
    draft: str | None
    published: str | None
    updated_at: datetime
    published_at: datetime | None


def _translation(row: Any) -> Translation:
    return Translation(
        key=row.name,
        language=row.language,
        draft=row.draft,
        published=row.published,
        updated_at=row.updated_at,
        published_at=row.published_at,
    )


async def save_drafts(
    conn: AsyncConnection, *, language: str, drafts: Mapping[str, str], updated_at: datetime
) -> None:
    """Write the draft of each key id in ``drafts`` for one language, creating missing rows
    (one batched UPDATE and one batched INSERT)."""
    existing: set[str] = set()
    for chunk in _chunks(list(drafts)):
        existing.update(
            await conn.scalars(
                select(translations.c.key_id).where(
                    translations.c.language == language, translations.c.key_id.in_(chunk)
                )
            )
        )
    changed = [{"k": key_id, "text": text} for key_id, text in drafts.items() if key_id in existing]
    if changed:
        await conn.execute(
            update(translations)
            .where(translations.c.key_id == bindparam("k"), translations.c.language == language)
            .values(draft=bindparam("text"), updated_at=updated_at),
            changed,
        )
    added = [
        {"key_id": key_id, "language": language, "draft": text, "updated_at": updated_at}
        for key_id, text in drafts.items()
        if key_id not in existing
    ]
    if added:
        await conn.execute(insert(translations), added)


async def revert_drafts(
    conn: AsyncConnection, *, language: str, key_ids: Sequence[str], updated_at: datetime
) -> None:
    """Drop the unpublished drafts of the keys in one language: a draft becomes its published
    text again, and a text never published goes."""
    for chunk in _chunks(key_ids):
        mine = and_(translations.c.language == language, translations.c.key_id.in_(chunk))
        await conn.execute(delete(translations).where(mine, translations.c.published.is_(None)))
        await conn.execute(
            update(translations)
            .where(mine, translations.c.draft.is_distinct_from(translations.c.published))
            .values(draft=translations.c.published, updated_at=updated_at)
        )


@dataclass(frozen=True, slots=True)
class KeyText:
    """A key with its draft and published text in one language (``None`` when it has none)."""

    key_id: str
    name: str
    description: str
    namespace: str
    draft: str | None
    published: str | None


async def key_texts(
    conn: AsyncConnection, *, project_id: str, language: str, namespace: str | None = None
) -> list[KeyText]:
    """Every key of the project (of ``namespace`` only, if given) with its texts in
    ``language``, by name (one query)."""
    joined = translation_keys.outerjoin(
        translations,
        and_(translations.c.key_id == translation_keys.c.id, translations.c.language == language),
    )
    query = (
        select(
            translation_keys.c.id,
            translation_keys.c.name,
            translation_keys.c.description,
            translation_keys.c.namespace,
            translations.c.draft,
            translations.c.published,
        )
        .select_from(joined)
        .where(translation_keys.c.project_id == project_id)
        .order_by(translation_keys.c.name)
    )
    if namespace is not None:
        query = query.where(translation_keys.c.namespace == namespace)
    return [
        KeyText(row.id, row.name, row.description, row.namespace, row.draft, row.published)
        for row in await conn.execute(query)
    ]


async def list_translations(
    conn: AsyncConnection,
    *,
    project_id: str,
    language: str,
    keys: Sequence[str] | None,
    after: str | None = None,
    limit: int | None = None,
) -> list[Translation]:
    """Drafts and published texts of one language (of ``keys`` only, if given), by key name:
    those after the key name ``after`` only and at most ``limit``, if given."""
    query = (
        select(
            translation_keys.c.name,
            translations.c.language,
            translations.c.draft,
            translations.c.published,
            translations.c.updated_at,
            translations.c.published_at,
        )
        .join(translations, translations.c.key_id == translation_keys.c.id)
        .where(translation_keys.c.project_id == project_id, translations.c.language == language)
        .order_by(translation_keys.c.name)
    )
    if keys is not None:
        query = query.where(translation_keys.c.name.in_(keys))
    if after is not None:
        query = query.where(translation_keys.c.name > after)
    return [_translation(row) for row in await conn.execute(query.limit(limit))]


async def publish_drafts(
    conn: AsyncConnection, *, project_id: str, languages: Sequence[str], published_at: datetime
) -> int:
    """Copy every changed draft of the languages to ``published``; how many changed."""
    changed = and_(
        translations.c.draft.is_not(None),
        or_(translations.c.published.is_(None), translations.c.published != translations.c.draft),
    )
    result = await conn.execute(
        update(translations)
        .where(
            translations.c.key_id.in_(
                select(translation_keys.c.id).where(translation_keys.c.project_id == project_id)
            ),
            translations.c.language.in_(languages),
            changed,
        )
        .values(published=translations.c.draft, published_at=published_at)
    )
    return int(result.rowcount or 0)


async def published_texts(
    conn: AsyncConnection, *, project_id: str, language: str, namespace: str | None = None
) -> dict[str, str]:
    """The published texts of one language (of ``namespace`` only, if given), key name → text."""
    query = (
        select(translation_keys.c.name, translations.c.published)
        .join(translations, translations.c.key_id == translation_keys.c.id)
        .where(
            translation_keys.c.project_id == project_id,
            translations.c.language == language,
            translations.c.published.is_not(None),
        )
        .order_by(translation_keys.c.name)
    )
    if namespace is not None:
        query = query.where(translation_keys.c.namespace == namespace)
    return {row.name: row.published for row in await conn.execute(query)}


@dataclass(frozen=True, slots=True)
class PublishedText:
    namespace: str
    language: str
    name: str
    text: str
    published_at: datetime | None


async def published_by_namespace(conn: AsyncConnection, *, project_id: str) -> list[PublishedText]:
    """Every published text of the project, with its key's namespace and its language."""
    rows = await conn.execute(
        select(
            translation_keys.c.namespace,
            translations.c.language,
            translation_keys.c.name,
            translations.c.published,
            translations.c.published_at,
        )
        .join(translations, translations.c.key_id == translation_keys.c.id)
        .where(translation_keys.c.project_id == project_id, translations.c.published.is_not(None))
    )
    return [
        PublishedText(row.namespace, row.language, row.name, row.published, row.published_at)
        for row in rows
    ]


async def project_namespaces(conn: AsyncConnection, *, project_id: str) -> list[str]:
    """The namespaces the project's keys belong to, sorted."""
    found = await conn.scalars(
        select(translation_keys.c.namespace)
        .where(translation_keys.c.project_id == project_id)
        .distinct()
    )
    return sorted(found)
