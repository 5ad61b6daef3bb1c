"""Translations of a project's keys: drafts, publishing, and the published view (SPEC §4, §5).

Every write lands in ``draft``; only `publish_translations` copies drafts to
``published``, which is all the CDN and other public readers ever see. A
language must be one of the project's; codes are compared in their canonical
BCP 47 form (``pt-br`` means ``pt-BR``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import InvalidRequest, NotFound
from i18n_connect.platform.keys import MAX_BATCH, key_ids
from i18n_connect.platform.projects import normalize_language
from i18n_connect.storage.tables import (
    project_languages,
    projects,
    translation_keys,
    translations,
)

__all__ = [
    "Translation",
    "get_translations",
    "project_language_codes",
    "publish_translations",
    "published_translations",
    "set_translations",
]

_MAX_TEXT = 20_000


@dataclass(frozen=True, slots=True)
class Translation:
    key: str
    language: str
    draft: str | None
    published: str | None
    updated_at: datetime
    published_at: datetime | None


async def project_language_codes(conn: AsyncConnection, project_id: str) -> list[str]:
    """The source language first, then the project's other languages by code."""
    source = await conn.scalar(
        select(projects.c.source_language).where(projects.c.id == project_id)
    )
    if source is None:
        raise NotFound("no such project")
    others = await conn.scalars(
        select(project_languages.c.code)
        .where(project_languages.c.project_id == project_id)
        .order_by(project_languages.c.code)
    )
    return [source, *(code for code in others if code != source)]


async def _require_language(conn: AsyncConnection, project_id: str, language: str) -> str:
    """The canonical code of one of the project's languages; else `NotFound`."""
    code = normalize_language(language)
    if code not in await project_language_codes(conn, project_id):
        raise NotFound(f"the project has no language {code!r}")
    return code


async def set_translations(
    conn: AsyncConnection,
    project_id: str,
    language: str,
    texts: Mapping[str, str],
    now: datetime,
) -> int:
    """Write drafts (key name → text) for one language; returns how many were written."""
    if not texts:
        raise InvalidRequest("give at least one translation")
    if len(texts) > MAX_BATCH:
        raise InvalidRequest(f"at most {MAX_BATCH} translations per request")
    too_long = [name for name, text in texts.items() if len(text) > _MAX_TEXT]
    if too_long:
        raise InvalidRequest(
            f"translations must be at most {_MAX_TEXT} characters: {', '.join(too_long[:20])}"
        )
    language = await _require_language(conn, project_id, language)
    ids = await key_ids(conn, project_id, texts)
    existing = set(
        await conn.scalars(
            select(translations.c.key_id).where(
                translations.c.language == language,
                translations.c.key_id.in_(list(ids.values())),
            )
        )
    )
    for name, text in texts.items():
        key_id = ids[name]
        if key_id in existing:
            await conn.execute(
                update(translations)
                .where(translations.c.key_id == key_id, translations.c.language == language)
                .values(draft=text, updated_at=now)
            )
        else:
            await conn.execute(
                translations.insert().values(
                    key_id=key_id, language=language, draft=text, updated_at=now
                )
            )
    return len(texts)


async def get_translations(
    conn: AsyncConnection,
    project_id: str,
    language: str,
    *,
    keys: Iterable[str] | None = None,
) -> list[Translation]:
    """Drafts and published texts of one language, by key name (keys without text omitted)."""
    language = await _require_language(conn, project_id, language)
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
        query = query.where(translation_keys.c.name.in_(list(keys)))
    return [_translation(row) for row in await conn.execute(query)]


def _translation(row: Any) -> Translation:
    return Translation(
        key=row.name,
        language=row.language,
        draft=row.draft,
        published=row.published,
        updated_at=row.updated_at,
        published_at=row.published_at,
    )


async def publish_translations(
    conn: AsyncConnection, project_id: str, languages: Iterable[str] | None, now: datetime
) -> int:
    """Publish every changed draft of the given languages (``None`` = all); returns the count."""
    codes = await project_language_codes(conn, project_id)
    chosen = codes if languages is None else list(dict.fromkeys(map(normalize_language, languages)))
    for code in chosen:
        if code not in codes:
            raise NotFound(f"the project has no language {code!r}")
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
            translations.c.language.in_(chosen),
            changed,
        )
        .values(published=translations.c.draft, published_at=now)
    )
    return int(result.rowcount or 0)


async def published_translations(
    conn: AsyncConnection, project_id: str, language: str
) -> dict[str, str]:
    """The live texts of one language (key name → text); drafts never appear here."""
    language = normalize_language(language)
    rows = await conn.execute(
        select(translation_keys.c.name, translations.c.published)
        .join(translations, translations.c.key_id == translation_keys.c.id)
        .where(
            translation_keys.c.project_id == project_id,
            translations.c.language == language,
            translations.c.published.is_not(None),
        )
        .order_by(translation_keys.c.name)
    )
    return {row.name: row.published for row in rows}
