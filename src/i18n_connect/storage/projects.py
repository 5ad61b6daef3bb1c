"""The ``projects`` and ``project_languages`` tables: the only module that reads or writes them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.keyset import after as keyset_after
from i18n_connect.storage.statements import Statement
from i18n_connect.storage.tables import project_languages, projects
from i18n_connect.storage.unique import insert_unique

__all__ = [
    "Project",
    "get_project",
    "get_project_by_slug",
    "insert_language",
    "insert_project",
    "list_projects",
    "page_projects",
    "project_language_codes",
    "projects_of_organization",
]


@dataclass(frozen=True, slots=True)
class Project:
    id: str
    organization_id: str
    slug: str
    name: str
    source_language: str
    languages: tuple[str, ...]  # the source language first, then targets alphabetically
    created_at: datetime

    @property
    def target_languages(self) -> tuple[str, ...]:
        return tuple(code for code in self.languages if code != self.source_language)


_COLUMNS = (
    projects.c.id,
    projects.c.organization_id,
    projects.c.slug,
    projects.c.name,
    projects.c.source_language,
    projects.c.created_at,
)
_PROJECT_BY_ID = Statement(select(*_COLUMNS).where(projects.c.id == bindparam("id")))
_LANGUAGES_OF = Statement(
    select(project_languages.c.code).where(project_languages.c.project_id == bindparam("id"))
)


def _project(row: Row[*tuple[Any, ...]], languages: list[str]) -> Project:
    targets = sorted(code for code in languages if code != row.source_language)
    return Project(
        id=row.id,
        organization_id=row.organization_id,
        slug=row.slug,
        name=row.name,
        source_language=row.source_language,
        languages=(row.source_language, *targets),
        created_at=row.created_at,
    )


async def _languages(conn: AsyncConnection, project_ids: list[str]) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {project_id: [] for project_id in project_ids}
    if project_ids:
        rows = await conn.execute(
            select(project_languages.c.project_id, project_languages.c.code).where(
                project_languages.c.project_id.in_(project_ids)
            )
        )
        for project_id, code in rows:
            found[project_id].append(code)
    return found


async def insert_project(
    conn: AsyncConnection,
    *,
    project_id: str,
    organization_id: str,
    slug: str,
    name: str,
    source_language: str,
    languages: Sequence[str],
    created_at: datetime,
) -> bool:
    """Insert a project with its languages; ``False`` when its slug is taken in the organization."""
    if not await insert_unique(
        conn,
        insert(projects).values(
            id=project_id,
            organization_id=organization_id,
            slug=slug,
            name=name,
            source_language=source_language,
            created_at=created_at,
        ),
    ):
        return False
    await conn.execute(
        insert(project_languages),
        [{"project_id": project_id, "code": code, "created_at": created_at} for code in languages],
    )
    return True


async def insert_language(
    conn: AsyncConnection, *, project_id: str, code: str, created_at: datetime
) -> bool:
    """Add a language to a project; ``False`` when the project has it already."""
    return await insert_unique(
        conn,
        insert(project_languages).values(project_id=project_id, code=code, created_at=created_at),
    )


async def get_project(conn: AsyncConnection, *, project_id: str) -> Project | None:
    """The project with its languages; a partner-API hot path, hence `Statement`s."""
    row = await _PROJECT_BY_ID.first(conn, id=project_id)
    if row is None:
        return None
    return _project(row, [language.code for language in await _LANGUAGES_OF.all(conn, id=row.id)])


async def get_project_by_slug(
    conn: AsyncConnection, *, organization_id: str, slug: str
) -> Project | None:
    row = (
        await conn.execute(
            select(*_COLUMNS).where(
                projects.c.organization_id == organization_id, projects.c.slug == slug
            )
        )
    ).first()
    if row is None:
        return None
    return _project(row, (await _languages(conn, [row.id]))[row.id])


async def list_projects(conn: AsyncConnection, *, organization_id: str) -> list[Project]:
    """The organization's projects, by name."""
    rows = (
        await conn.execute(
            select(*_COLUMNS)
            .where(projects.c.organization_id == organization_id)
            .order_by(projects.c.name, projects.c.slug)
        )
    ).all()
    languages = await _languages(conn, [row.id for row in rows])
    return [_project(row, languages[row.id]) for row in rows]


async def page_projects(
    conn: AsyncConnection,
    *,
    organization_id: str,
    after: tuple[str, str] | None,
    limit: int,
) -> list[Project]:
    """At most ``limit`` of the organization's projects by (name, slug), those after the
    position ``after`` (a name and a slug) only, if given."""
    query = select(*_COLUMNS).where(projects.c.organization_id == organization_id)
    if after is not None:
        query = query.where(keyset_after((projects.c.name, projects.c.slug), after))
    rows = (await conn.execute(query.order_by(projects.c.name, projects.c.slug).limit(limit))).all()
    languages = await _languages(conn, [row.id for row in rows])
    return [_project(row, languages[row.id]) for row in rows]


async def projects_of_organization(
    conn: AsyncConnection, *, organization_id: str, project_ids: Sequence[str]
) -> set[str]:
    """Those of ``project_ids`` that are projects of the organization."""
    found = await conn.scalars(
        select(projects.c.id).where(
            projects.c.organization_id == organization_id, projects.c.id.in_(project_ids)
        )
    )
    return set(found)


async def project_language_codes(conn: AsyncConnection, *, project_id: str) -> list[str] | None:
    """The source language first, then the project's other languages by code; ``None`` when
    there is no such project."""
    source = await conn.scalar(
        select(projects.c.source_language).where(projects.c.id == project_id)
    )
    if source is None:
        return None
    others = await conn.scalars(
        select(project_languages.c.code)
        .where(project_languages.c.project_id == project_id)
        .order_by(project_languages.c.code)
    )
    return [source, *(code for code in others if code != source)]
