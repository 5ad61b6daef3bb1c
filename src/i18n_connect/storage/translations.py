"""The ``translations`` table: the only module that reads or writes it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.tables import translation_keys, translations

__all__ = ["Translation", "list_translations", "publish_drafts", "published_texts", "save_drafts"]


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
    """Write the draft of each key id in ``drafts`` for one language, creating missing rows."""
    existing = set(
        await conn.scalars(
            select(translations.c.key_id).where(
                translations.c.language == language,
                translations.c.key_id.in_(list(drafts)),
            )
        )
    )
    for key_id, text in drafts.items():
        if key_id in existing:
            await conn.execute(
                update(translations)
                .where(translations.c.key_id == key_id, translations.c.language == language)
                .values(draft=text, updated_at=updated_at)
            )
        else:
            await conn.execute(
                translations.insert().values(
                    key_id=key_id, language=language, draft=text, updated_at=updated_at
                )
            )


async def list_translations(
    conn: AsyncConnection, *, project_id: str, language: str, keys: Sequence[str] | None
) -> list[Translation]:
    """Drafts and published texts of one language (of ``keys`` only, if given), by key name."""
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
    return [_translation(row) for row in await conn.execute(query)]


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
    conn: AsyncConnection, *, project_id: str, language: str
) -> dict[str, str]:
    """The published texts of one language, key name → text."""
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
