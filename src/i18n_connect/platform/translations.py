"""Translations of a project's keys: drafts, publishing, and the published view (SPEC §4, §5).

Every write lands in ``draft``; only `publish_translations` copies drafts to
``published``, which is all the CDN and other public readers ever see. A
language must be one of the project's; codes are compared in their canonical
BCP 47 form (``pt-br`` means ``pt-BR``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import InvalidRequest, NotFound
from i18n_connect.platform.keys import MAX_BATCH, key_ids
from i18n_connect.platform.projects import normalize_language
from i18n_connect.storage import projects as project_store
from i18n_connect.storage import translations as translation_store
from i18n_connect.storage.translations import Translation
from i18n_connect.webhooks import events

__all__ = [
    "Translation",
    "get_translations",
    "project_language_codes",
    "publish_translations",
    "published_translations",
    "set_translations",
]

_MAX_TEXT = 20_000


async def project_language_codes(conn: AsyncConnection, project_id: str) -> list[str]:
    """The source language first, then the project's other languages by code."""
    codes = await project_store.project_language_codes(conn, project_id=project_id)
    if codes is None:
        raise NotFound("no such project")
    return codes


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
    await translation_store.save_drafts(
        conn,
        language=language,
        drafts={ids[name]: text for name, text in texts.items()},
        updated_at=now,
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
    return await translation_store.list_translations(
        conn,
        project_id=project_id,
        language=language,
        keys=list(keys) if keys is not None else None,
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
    published = await translation_store.publish_drafts(
        conn, project_id=project_id, languages=chosen, published_at=now
    )
    if published:
        await events.emit_for_project(
            conn, "translations.published", project_id=project_id, now=now, languages=chosen
        )
    return published


async def published_translations(
    conn: AsyncConnection, project_id: str, language: str
) -> dict[str, str]:
    """The live texts of one language (key name → text); drafts never appear here."""
    return await translation_store.published_texts(
        conn, project_id=project_id, language=normalize_language(language)
    )
