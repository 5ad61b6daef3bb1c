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
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import ConflictError, InvalidRequest, NotFound
from i18n_connect.ids import new_id
from i18n_connect.platform.organizations import check_name, check_slug, get_organization
from i18n_connect.storage import projects as project_store
from i18n_connect.storage.projects import Project

__all__ = [
    "Project",
    "add_language",
    "create_project",
    "get_project",
    "get_project_by_slug",
    "list_projects",
    "normalize_language",
    "page_projects",
]

_LANGUAGE = re.compile(
    r"(?P<language>[a-z]{2,3})"
    r"(?:-(?P<script>[a-z]{4}))?"
    r"(?:-(?P<region>[a-z]{2}|[0-9]{3}))?"
    r"(?P<variants>(?:-(?:[a-z0-9]{5,8}|[0-9][a-z0-9]{3}))*)",
    re.IGNORECASE,
)
_MAX_LANGUAGE_LENGTH = 35


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
    if await get_organization(conn, organization_id) is None:
        raise NotFound("no such organization")
    if await get_project_by_slug(conn, organization_id, slug) is not None:
        raise ConflictError(f"a project with the slug {slug!r} already exists here")
    project_id = new_id("prj")
    if not await project_store.insert_project(
        conn,
        project_id=project_id,
        organization_id=organization_id,
        slug=slug,
        name=display_name,
        source_language=source,
        languages=list(dict.fromkeys([source, *targets])),
        created_at=now,
    ):  # a concurrent insert of the same slug won
        raise ConflictError(f"a project with the slug {slug!r} already exists here")
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
    if not await project_store.insert_language(
        conn, project_id=project_id, code=language, created_at=now
    ):  # added concurrently
        raise ConflictError(f"the project already has the language {language}")
    updated = await get_project(conn, project_id)
    assert updated is not None
    return updated


async def get_project(conn: AsyncConnection, project_id: str) -> Project | None:
    """The project (its target languages included); a partner-API hot path."""
    return await project_store.get_project(conn, project_id=project_id)


async def get_project_by_slug(
    conn: AsyncConnection, organization_id: str, slug: str
) -> Project | None:
    return await project_store.get_project_by_slug(conn, organization_id=organization_id, slug=slug)


async def list_projects(conn: AsyncConnection, organization_id: str) -> list[Project]:
    """The organization's projects, by name."""
    return await project_store.list_projects(conn, organization_id=organization_id)


async def page_projects(
    conn: AsyncConnection, organization_id: str, *, after: tuple[str, str] | None, limit: int
) -> list[Project]:
    """At most ``limit`` of the organization's projects by (name, slug), after ``after``."""
    return await project_store.page_projects(
        conn, organization_id=organization_id, after=after, limit=limit
    )
