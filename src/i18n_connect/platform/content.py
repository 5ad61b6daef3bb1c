"""Content models and their entries: drafts and publishing (SPEC §4).

A model names its fields (``{"name", "type", "localized"}``; types ``text``,
``markdown``, ``number``, ``boolean``; only text fields may be localized). An
entry's data maps field names to values; a localized field's value maps
language codes to text. Writes change the draft; `publish_entries` copies
drafts to ``published``, the only version public readers see.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import ConflictError, InvalidRequest, NotFound
from i18n_connect.ids import new_id
from i18n_connect.platform.projects import normalize_language
from i18n_connect.storage import content as content_store
from i18n_connect.storage.content import ContentEntry, ContentModel
from i18n_connect.webhooks import events

__all__ = [
    "FIELD_TYPES",
    "ContentEntry",
    "ContentModel",
    "create_model",
    "get_entry",
    "get_model",
    "list_entries",
    "list_models",
    "publish_entries",
    "save_entry",
]

FIELD_TYPES = ("text", "markdown", "number", "boolean")
_TEXT_TYPES = ("text", "markdown")
_SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}[a-z0-9]|[a-z0-9]")
_FIELD_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_MAX_TEXT = 100_000
_MAX_FIELDS = 50


def _check_slug(slug: str, what: str) -> str:
    if not _SLUG.fullmatch(slug):
        raise InvalidRequest(
            f"the {what} {slug[:70]!r} must be 1-64 lowercase letters, digits or inner hyphens"
        )
    return slug


def _check_fields(fields: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    if not fields or len(fields) > _MAX_FIELDS:
        raise InvalidRequest(f"a content model needs 1-{_MAX_FIELDS} fields")
    checked: list[dict[str, Any]] = []
    for spec in fields:
        name, kind, localized = spec.get("name"), spec.get("type"), spec.get("localized", False)
        if not isinstance(name, str) or not _FIELD_NAME.fullmatch(name):
            raise InvalidRequest(f"the field name {name!r} must be a letter then letters/digits/_")
        if kind not in FIELD_TYPES:
            raise InvalidRequest(
                f"the field {name} has type {kind!r}: use {', '.join(FIELD_TYPES)}"
            )
        if not isinstance(localized, bool) or (localized and kind not in _TEXT_TYPES):
            raise InvalidRequest(f"only text fields may be localized ({name})")
        checked.append({"name": name, "type": kind, "localized": localized})
    if len({spec["name"] for spec in checked}) != len(checked):
        raise InvalidRequest("a field name is listed twice")
    return checked


def _check_value(spec: Mapping[str, Any], value: Any) -> Any:
    name, kind = spec["name"], spec["type"]
    if spec["localized"]:
        if not isinstance(value, dict):
            raise InvalidRequest(f"the localized field {name} needs an object of language: text")
        texts: dict[str, str] = {}
        for language, text in value.items():
            if not isinstance(text, str) or len(text) > _MAX_TEXT:
                raise InvalidRequest(f"the {language} value of {name} must be text")
            texts[normalize_language(language)] = text
        return texts
    if kind in _TEXT_TYPES:
        if not isinstance(value, str) or len(value) > _MAX_TEXT:
            raise InvalidRequest(f"the field {name} must be text")
    elif kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidRequest(f"the field {name} must be a number")
    elif not isinstance(value, bool):
        raise InvalidRequest(f"the field {name} must be true or false")
    return value


async def create_model(
    conn: AsyncConnection,
    project_id: str,
    *,
    slug: str,
    name: str,
    fields: Sequence[Mapping[str, Any]],
    now: datetime,
) -> ContentModel:
    """Create a content model; a taken slug in the project is a `ConflictError`."""
    model = ContentModel(
        id=new_id("cmd"),
        project_id=project_id,
        slug=_check_slug(slug, "model slug"),
        name=name.strip(),
        fields=_check_fields(fields),
        created_at=now,
    )
    if not model.name or len(model.name) > 200:
        raise InvalidRequest("the model name must be 1-200 characters long")
    if await get_model(conn, project_id, slug) is not None:
        raise ConflictError(f"a content model {slug!r} already exists")
    if not await content_store.insert_model(conn, model=model):
        raise ConflictError(f"a content model {slug!r} already exists")
    return model


async def list_models(
    conn: AsyncConnection, project_id: str, *, after: str | None = None, limit: int | None = None
) -> list[ContentModel]:
    """The project's models by slug: after the slug ``after`` and at most ``limit``, if given."""
    return await content_store.list_models(conn, project_id=project_id, after=after, limit=limit)


async def get_model(conn: AsyncConnection, project_id: str, slug: str) -> ContentModel | None:
    return await content_store.get_model(conn, project_id=project_id, slug=slug)


async def _require_model(conn: AsyncConnection, project_id: str, slug: str) -> ContentModel:
    model = await get_model(conn, project_id, slug)
    if model is None:
        raise NotFound(f"no content model {slug[:70]!r} in this project")
    return model


async def list_entries(
    conn: AsyncConnection,
    project_id: str,
    model_slug: str,
    *,
    after: str | None = None,
    limit: int | None = None,
) -> list[ContentEntry]:
    """The model's entries by slug, with draft and published data: those after the slug
    ``after`` only and at most ``limit``, if given."""
    model = await _require_model(conn, project_id, model_slug)
    return await content_store.list_entries(conn, model=model, after=after, limit=limit)


async def get_entry(
    conn: AsyncConnection, project_id: str, model_slug: str, entry_slug: str
) -> ContentEntry:
    model = await _require_model(conn, project_id, model_slug)
    entry = await content_store.get_entry(conn, model=model, slug=entry_slug)
    if entry is None:
        raise NotFound(f"no entry {entry_slug[:70]!r} in the model {model_slug!r}")
    return entry


async def save_entry(
    conn: AsyncConnection,
    project_id: str,
    model_slug: str,
    entry_slug: str,
    data: Mapping[str, Any],
    now: datetime,
) -> ContentEntry:
    """Create or change an entry's draft; fields not named keep their draft value."""
    model = await _require_model(conn, project_id, model_slug)
    _check_slug(entry_slug, "entry slug")
    specs = {spec["name"]: spec for spec in model.fields}
    unknown = sorted(set(data) - set(specs))
    if unknown:
        raise InvalidRequest(f"unknown field(s) of {model.slug}: {', '.join(unknown[:20])}")
    checked = {name: _check_value(specs[name], value) for name, value in data.items()}
    entry = await content_store.get_entry(conn, model=model, slug=entry_slug)
    if entry is None:
        if not await content_store.insert_entry(
            conn,
            entry_id=new_id("ent"),
            model_id=model.id,
            slug=entry_slug,
            draft=checked,
            updated_at=now,
        ):
            raise ConflictError(f"the entry {entry_slug!r} was created concurrently")
    else:
        merged = dict(entry.draft)
        for name, value in checked.items():
            if specs[name]["localized"]:
                merged[name] = {**merged.get(name, {}), **value}
            else:
                merged[name] = value
        await content_store.update_draft(conn, entry_id=entry.id, draft=merged, updated_at=now)
    return await get_entry(conn, project_id, model_slug, entry_slug)


async def publish_entries(
    conn: AsyncConnection,
    project_id: str,
    model_slug: str,
    entry_slugs: Iterable[str] | None,
    now: datetime,
) -> list[str]:
    """Publish the drafts of the named entries (``None`` = every entry); returns their slugs."""
    model = await _require_model(conn, project_id, model_slug)
    entries = {entry.slug: entry for entry in await content_store.list_entries(conn, model=model)}
    chosen = list(entries) if entry_slugs is None else list(dict.fromkeys(entry_slugs))
    missing = [slug for slug in chosen if slug not in entries]
    if missing:
        raise NotFound(f"unknown entr(y/ies) of {model.slug}: {', '.join(missing[:20])}")
    for slug in chosen:
        await content_store.publish_entry(
            conn, entry_id=entries[slug].id, published=entries[slug].draft, published_at=now
        )
    if chosen:
        await events.emit_for_project(
            conn,
            "content.published",
            project_id=project_id,
            now=now,
            model=model.slug,
            entries=chosen,
        )
    return chosen
