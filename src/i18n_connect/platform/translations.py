"""Translations of a project's keys: drafts, publishing, and the published view (SPEC §4, §5).

Every write lands in ``draft``; only `publish_translations` copies drafts to
``published``, which is all the CDN and other public readers ever see. A
language must be one of the project's; codes are compared in their canonical
BCP 47 form (``pt-br`` means ``pt-BR``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import InvalidRequest, InvalidTranslation, NotFound
from i18n_connect.platform.keys import DEFAULT_NAMESPACE, MAX_BATCH, key_ids
from i18n_connect.platform.messages import check_text
from i18n_connect.platform.projects import normalize_language
from i18n_connect.storage import projects as project_store
from i18n_connect.storage import translations as translation_store
from i18n_connect.storage.translations import Translation
from i18n_connect.webhooks import events

__all__ = [
    "MAX_TEXT",
    "PublishedFile",
    "Translation",
    "check_texts",
    "get_translations",
    "project_language_codes",
    "publish_translations",
    "published_files",
    "published_translations",
    "set_translations",
    "source_texts",
]

MAX_TEXT = 20_000


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


def check_texts(
    texts: Mapping[str, str], *, language: str, sources: Mapping[str, str | None]
) -> None:
    """`InvalidTranslation` for the first text (key name → text) with broken ICU syntax, plural
    categories ``language`` lacks, or placeholders other than its source text's."""
    for name, text in texts.items():
        problem = check_text(text, language=language, source=sources.get(name))
        if problem is not None:
            raise InvalidTranslation(name, problem)


async def source_texts(
    conn: AsyncConnection, project_id: str, language: str, names: Iterable[str]
) -> dict[str, str | None]:
    """The source language's current text of each named key, for checks of ``language``
    (nothing when ``language`` is the source language)."""
    source = (await project_language_codes(conn, project_id))[0]
    if language == source:
        return {}
    found = await translation_store.list_translations(
        conn, project_id=project_id, language=source, keys=list(names)
    )
    return {t.key: t.draft if t.draft is not None else t.published for t in found}


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
    too_long = [name for name, text in texts.items() if len(text) > MAX_TEXT]
    if too_long:
        raise InvalidRequest(
            f"translations must be at most {MAX_TEXT} characters: {', '.join(too_long[:20])}"
        )
    language = await _require_language(conn, project_id, language)
    ids = await key_ids(conn, project_id, texts)
    sources = await source_texts(conn, project_id, language, texts)
    check_texts(texts, language=language, sources=sources)
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
    after: str | None = None,
    limit: int | None = None,
) -> list[Translation]:
    """Drafts and published texts of one language, by key name (keys without text omitted):
    those after the key name ``after`` only and at most ``limit``, if given."""
    language = await _require_language(conn, project_id, language)
    return await translation_store.list_translations(
        conn,
        project_id=project_id,
        language=language,
        keys=list(keys) if keys is not None else None,
        after=after,
        limit=limit,
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
    conn: AsyncConnection, project_id: str, language: str, *, namespace: str | None = None
) -> dict[str, str]:
    """The live texts of one language (key name → text), of one namespace if given; drafts
    never appear here."""
    return await translation_store.published_texts(
        conn, project_id=project_id, language=normalize_language(language), namespace=namespace
    )


@dataclass(frozen=True, slots=True)
class PublishedFile:
    """The live texts of one namespace in one language, and when they last changed."""

    texts: dict[str, str]
    published_at: datetime | None


async def published_files(
    conn: AsyncConnection, project_id: str, languages: Sequence[str]
) -> dict[tuple[str, str], PublishedFile]:
    """(namespace, language) → its live texts, for every namespace of the project (``common``
    always) and each of ``languages``."""
    namespaces = set(await translation_store.project_namespaces(conn, project_id=project_id))
    namespaces.add(DEFAULT_NAMESPACE)
    texts: dict[tuple[str, str], dict[str, str]] = {
        (namespace, language): {} for namespace in namespaces for language in languages
    }
    latest: dict[tuple[str, str], datetime] = {}
    for row in await translation_store.published_by_namespace(conn, project_id=project_id):
        where = (row.namespace, row.language)
        if where not in texts:
            continue
        texts[where][row.name] = row.text
        if row.published_at is not None and (
            where not in latest or row.published_at > latest[where]
        ):
            latest[where] = row.published_at
    return {
        where: PublishedFile(dict(sorted(found.items())), latest.get(where))
        for where, found in sorted(texts.items())
    }
