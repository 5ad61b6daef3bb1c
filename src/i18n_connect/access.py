"""Which resources a caller may touch, for the partner API and the MCP server alike (SPEC §4
error table): the same case raises the same error, which each edge renders its own way.

An unknown resource is 404 ``not_found``; one of another organization is 403
``wrong_organization``; a project outside the token's ``project_ids`` is 403
``wrong_project``; a scope the token lacks is 403 ``missing_scope``. Lists show only
what the caller may see.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import MissingScope, NotFound, WrongOrganization, WrongProject
from i18n_connect.platform.organizations import (
    Organization,
    get_organization,
    get_organization_by_slug,
)
from i18n_connect.platform.projects import (
    Project,
    get_project,
    get_project_by_slug,
    list_projects,
    page_projects,
)

__all__ = [
    "Reach",
    "organization_by_id",
    "organization_by_slug",
    "project_by_id",
    "project_by_ref",
    "project_by_slug",
    "require_scope",
    "visible_projects",
    "visible_projects_page",
]


class Reach(Protocol):
    """The organization a caller acts in and the projects it is limited to."""

    @property
    def organization_id(self) -> str: ...

    def allows_project(self, project_id: str) -> bool: ...


def require_scope(scopes: Collection[str], scope: str) -> None:
    """`MissingScope` unless ``scope`` is among the caller's ``scopes``."""
    if scope not in scopes:
        raise MissingScope(scope)


def _own(reach: Reach, organization: Organization | None) -> Organization:
    if organization is None:
        raise NotFound("No such organization.")
    if organization.id != reach.organization_id:
        raise WrongOrganization()
    return organization


def _allowed(reach: Reach, project: Project | None) -> Project:
    if project is None:
        raise NotFound("No such project.")
    if project.organization_id != reach.organization_id:
        raise WrongOrganization()
    if not reach.allows_project(project.id):
        raise WrongProject()
    return project


async def organization_by_id(
    conn: AsyncConnection, reach: Reach, organization_id: str
) -> Organization:
    return _own(reach, await get_organization(conn, organization_id))


async def organization_by_slug(conn: AsyncConnection, reach: Reach, slug: str) -> Organization:
    return _own(reach, await get_organization_by_slug(conn, slug))


async def project_by_id(conn: AsyncConnection, reach: Reach, project_id: str) -> Project:
    return _allowed(reach, await get_project(conn, project_id))


async def project_by_slug(
    conn: AsyncConnection, reach: Reach, organization: Organization, slug: str
) -> Project:
    return _allowed(reach, await get_project_by_slug(conn, organization.id, slug))


async def project_by_ref(conn: AsyncConnection, reach: Reach, ref: str) -> Project:
    """The project named by id, or else by slug in the caller's organization."""
    project = await get_project(conn, ref)
    if project is None:
        project = await get_project_by_slug(conn, reach.organization_id, ref)
    return _allowed(reach, project)


async def visible_projects(conn: AsyncConnection, reach: Reach) -> list[Project]:
    """The projects of the caller's organization that it may see."""
    return [
        project
        for project in await list_projects(conn, reach.organization_id)
        if reach.allows_project(project.id)
    ]


async def visible_projects_page(
    conn: AsyncConnection, reach: Reach, *, after: tuple[str, str] | None, limit: int
) -> list[Project]:
    """At most ``limit`` of the projects the caller may see, by (name, slug), after the
    position ``after``: batches of the organization's projects, in order, until enough."""
    found: list[Project] = []
    while len(found) < limit:
        batch = await page_projects(conn, reach.organization_id, after=after, limit=limit)
        found += [project for project in batch if reach.allows_project(project.id)]
        if len(batch) < limit:
            break
        after = (batch[-1].name, batch[-1].slug)
    return found[:limit]
