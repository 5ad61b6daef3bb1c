"""The ``glossary_terms`` table: the only module that reads or writes it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.tables import glossary_terms

__all__ = ["GlossaryTerm", "delete_terms", "insert_term", "list_terms", "term_ids", "update_term"]


@dataclass(frozen=True, slots=True)
class GlossaryTerm:
    id: str
    term: str
    description: str
    translations: dict[str, str]
    created_at: datetime
    updated_at: datetime


def _term(row: Any) -> GlossaryTerm:
    return GlossaryTerm(
        id=row.id,
        term=row.term,
        description=row.description,
        translations=dict(row.translations or {}),
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _named(project_id: str, names: Sequence[str]) -> ColumnElement[bool]:
    return and_(glossary_terms.c.project_id == project_id, glossary_terms.c.term.in_(names))


async def list_terms(
    conn: AsyncConnection,
    *,
    project_id: str,
    names: Sequence[str] | None = None,
    after: str | None = None,
    limit: int | None = None,
) -> list[GlossaryTerm]:
    """The project's terms (only those named, if ``names`` is given), by term: those after
    the term ``after`` only and at most ``limit``, if given."""
    query = select(glossary_terms).where(glossary_terms.c.project_id == project_id)
    if names is not None:
        query = query.where(glossary_terms.c.term.in_(names))
    if after is not None:
        query = query.where(glossary_terms.c.term > after)
    query = query.order_by(glossary_terms.c.term).limit(limit)
    return [_term(row) for row in await conn.execute(query)]


async def term_ids(
    conn: AsyncConnection, *, project_id: str, names: Sequence[str]
) -> dict[str, str]:
    """The ids of the named terms that exist, by term."""
    rows = await conn.execute(
        select(glossary_terms.c.term, glossary_terms.c.id).where(_named(project_id, names))
    )
    return {row.term: row.id for row in rows}


async def insert_term(
    conn: AsyncConnection,
    *,
    term_id: str,
    project_id: str,
    term: str,
    description: str,
    translations: Mapping[str, str],
    created_at: datetime,
) -> None:
    await conn.execute(
        insert(glossary_terms).values(
            id=term_id,
            project_id=project_id,
            term=term,
            description=description,
            translations=dict(translations),
            created_at=created_at,
            updated_at=created_at,
        )
    )


async def update_term(
    conn: AsyncConnection,
    *,
    term_id: str,
    description: str,
    translations: Mapping[str, str],
    updated_at: datetime,
) -> None:
    await conn.execute(
        update(glossary_terms)
        .where(glossary_terms.c.id == term_id)
        .values(description=description, translations=dict(translations), updated_at=updated_at)
    )


async def delete_terms(conn: AsyncConnection, *, project_id: str, names: Sequence[str]) -> None:
    await conn.execute(delete(glossary_terms).where(_named(project_id, names)))
