"""Projects of an organization and their languages (SPEC §4 projects, §6).

A project's slug is unique within its organization. Its languages are BCP 47
tags (RFC 5646 §2.1, the common subset: a 2-3 letter language, an optional
4-letter script, an optional 2-letter or 3-digit region, then optional 5-8
character variants), stored in canonical case (``pt-BR``, ``zh-Hant-TW``).
The source language is one of the project's languages; ``Project.languages``
lists it first, then the target languages in alphabetical order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, bindparam, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import ConflictError, InvalidRequest, NotFound
from i18n_connect.ids import new_id
from i18n_connect.platform.organizations import check_name, check_slug
from i18n_connect.storage.statements import Statement
from i18n_connect.storage.tables import organizations, project_languages, projects

__all__ = [
    "Project",
    "add_language",
    "create_project",
    "get_project",
    "get_project_by_slug",
    "list_projects",
    "normalize_language",
]

_LANGUAGE = re.compile(
    r"(?P<language>[a-z]{2,3})"
    r"(?:-(?P<script>[a-z]{4}))?"
    r"(?:-(?P<region>[a-z]{2}|[0-9]{3}))?"
    r"(?P<variants>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*)",
    re.IGNORECASE,
)
_MAX_LANGUAGE_LENGTH = 35


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


def normalize_language(code: str) -> str:
    """The canonical form of a language tag such as ``pt-br`` → ``pt-BR``; else `InvalidRequest`."""
    match = _LANGUAGE.fullmatch(code.strip().replace("_", "-"))
    if match is None or len(code.strip()) > _MAX_LANGUAGE_LENGTH:
        raise InvalidRequest(
            f"{code!r} is not a language tag such as en, pt-BR, zh-Hant or es-419 (BCP 47)"
        )
    parts = [match["language"].lower()]
    if match["script"]:
        parts.append(match["script"].title())
    if match["region"]:
        parts.append(match["region"].upper())
    variants = match["variants"].lower()
    return "-".join(parts) + variants


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


async def create_project(
    conn: AsyncConnection,
    *,
    organization_id: str,
    name: str,
    slug: str,
    source_language: str,
    now: datetime,
    target_languages: tuple[str, ...] = (),
) -> Project:
    """Create a project; a slug already used in the organization is a `ConflictError`."""
    check_slug(slug, "project slug")
    display_name = check_name(name, "project name")
    source = normalize_language(source_language)
    targets = [normalize_language(code) for code in target_languages]
    exists = await conn.scalar(
        select(organizations.c.id).where(organizations.c.id == organization_id)
    )
    if exists is None:
        raise NotFound("no such organization")
    if await get_project_by_slug(conn, organization_id, slug) is not None:
        raise ConflictError(f"a project with the slug {slug!r} already exists here")
    project_id = new_id("prj")
    try:
        async with conn.begin_nested():
            await conn.execute(
                insert(projects).values(
                    id=project_id,
                    organization_id=organization_id,
                    slug=slug,
                    name=display_name,
                    source_language=source,
                    created_at=now,
                )
            )
    except IntegrityError as exc:  # a concurrent insert of the same slug won
        raise ConflictError(f"a project with the slug {slug!r} already exists here") from exc
    await conn.execute(
        insert(project_languages),
        [
            {"project_id": project_id, "code": code, "created_at": now}
            for code in dict.fromkeys([source, *targets])
        ],
    )
    project = await get_project(conn, project_id)
    assert project is not None
    return project


async def add_language(conn: AsyncConnection, project_id: str, code: str, now: datetime) -> Project:
    """Add a target language; one the project already has is a `ConflictError`."""
    language = normalize_language(code)
    project = await get_project(conn, project_id)
    if project is None:
        raise NotFound("no such project")
    if language in project.languages:
        raise ConflictError(f"the project already has the language {language}")
    try:
        async with conn.begin_nested():
            await conn.execute(
                insert(project_languages).values(
                    project_id=project_id, code=language, created_at=now
                )
            )
    except IntegrityError as exc:  # added concurrently
        raise ConflictError(f"the project already has the language {language}") from exc
    updated = await get_project(conn, project_id)
    assert updated is not None
    return updated


_PROJECT_BY_ID = Statement(select(*_COLUMNS).where(projects.c.id == bindparam("id")))
_LANGUAGES_OF = Statement(
    select(project_languages.c.code).where(project_languages.c.project_id == bindparam("id"))
)


async def get_project(conn: AsyncConnection, project_id: str) -> Project | None:
    """The project (its target languages included); a partner-API hot path."""
    row = await _PROJECT_BY_ID.first(conn, id=project_id)
    if row is None:
        return None
    return _project(row, [language.code for language in await _LANGUAGES_OF.all(conn, id=row.id)])


async def get_project_by_slug(
    conn: AsyncConnection, organization_id: str, slug: str
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


async def list_projects(conn: AsyncConnection, organization_id: str) -> list[Project]:
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
