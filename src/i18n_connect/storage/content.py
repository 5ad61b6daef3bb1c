"""The ``content_models`` and ``content_entries`` tables: the only module that reads or writes
them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.tables import content_entries, content_models
from i18n_connect.storage.unique import insert_unique

__all__ = [
    "ContentEntry",
    "ContentModel",
    "get_entry",
    "get_model",
    "insert_entry",
    "insert_model",
    "list_entries",
    "list_models",
    "publish_entry",
    "update_draft",
]


@dataclass(frozen=True, slots=True)
class ContentModel:
    id: str
    project_id: str
    slug: str
    name: str
    fields: list[dict[str, Any]]
    created_at: datetime


@dataclass(frozen=True, slots=True)
class ContentEntry:
    id: str
    model_slug: str
    slug: str
    draft: dict[str, Any]
    published: dict[str, Any] | None
    updated_at: datetime
    published_at: datetime | None


def _model(row: Any) -> ContentModel:
    return ContentModel(
        id=row.id,
        project_id=row.project_id,
        slug=row.slug,
        name=row.name,
        fields=list(row.fields),
        created_at=row.created_at,
    )


def _entry(model_slug: str, row: Any) -> ContentEntry:
    return ContentEntry(
        id=row.id,
        model_slug=model_slug,
        slug=row.slug,
        draft=dict(row.draft),
        published=dict(row.published) if row.published is not None else None,
        updated_at=row.updated_at,
        published_at=row.published_at,
    )


async def insert_model(conn: AsyncConnection, *, model: ContentModel) -> bool:
    """Insert a content model; ``False`` when its slug is taken in the project."""
    return await insert_unique(
        conn,
        insert(content_models).values(
            id=model.id,
            project_id=model.project_id,
            slug=model.slug,
            name=model.name,
            fields=model.fields,
            created_at=model.created_at,
        ),
    )


async def list_models(
    conn: AsyncConnection, *, project_id: str, after: str | None = None, limit: int | None = None
) -> list[ContentModel]:
    """The project's models by slug: those after the slug ``after`` only and at most
    ``limit``, if given."""
    query = select(content_models).where(content_models.c.project_id == project_id)
    if after is not None:
        query = query.where(content_models.c.slug > after)
    rows = await conn.execute(query.order_by(content_models.c.slug).limit(limit))
    return [_model(row) for row in rows]


async def get_model(conn: AsyncConnection, *, project_id: str, slug: str) -> ContentModel | None:
    row = (
        await conn.execute(
            select(content_models).where(
                content_models.c.project_id == project_id, content_models.c.slug == slug
            )
        )
    ).first()
    return _model(row) if row is not None else None


async def list_entries(
    conn: AsyncConnection,
    *,
    model: ContentModel,
    after: str | None = None,
    limit: int | None = None,
) -> list[ContentEntry]:
    """The model's entries, by slug: those after the slug ``after`` only and at most
    ``limit``, if given."""
    query = select(content_entries).where(content_entries.c.model_id == model.id)
    if after is not None:
        query = query.where(content_entries.c.slug > after)
    rows = await conn.execute(query.order_by(content_entries.c.slug).limit(limit))
    return [_entry(model.slug, row) for row in rows]


async def get_entry(
    conn: AsyncConnection, *, model: ContentModel, slug: str
) -> ContentEntry | None:
    row = (
        await conn.execute(
            select(content_entries).where(
                content_entries.c.model_id == model.id, content_entries.c.slug == slug
            )
        )
    ).first()
    return _entry(model.slug, row) if row is not None else None


async def insert_entry(
    conn: AsyncConnection,
    *,
    entry_id: str,
    model_id: str,
    slug: str,
    draft: dict[str, Any],
    updated_at: datetime,
) -> bool:
    """Insert an entry with its first draft; ``False`` when its slug is taken in the model."""
    return await insert_unique(
        conn,
        insert(content_entries).values(
            id=entry_id, model_id=model_id, slug=slug, draft=draft, updated_at=updated_at
        ),
    )


async def update_draft(
    conn: AsyncConnection, *, entry_id: str, draft: dict[str, Any], updated_at: datetime
) -> None:
    await _update_entry(conn, entry_id, draft=draft, updated_at=updated_at)


async def publish_entry(
    conn: AsyncConnection, *, entry_id: str, published: dict[str, Any], published_at: datetime
) -> None:
    await _update_entry(conn, entry_id, published=published, published_at=published_at)


async def _update_entry(conn: AsyncConnection, entry_id: str, **values: Any) -> None:
    await conn.execute(
        update(content_entries).where(content_entries.c.id == entry_id).values(**values)
    )
