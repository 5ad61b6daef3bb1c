"""Which resources an installation token may touch (SPEC §4 error table).

An unknown resource is 404 ``not_found``; one of another organization is 403
``wrong_organization``; a project outside the token's ``project_ids`` is 403
``wrong_project``. Lists show only what the token may see.
"""

from __future__ import annotations

from i18n_connect.api.auth import Caller
from i18n_connect.errors import NotFound, WrongOrganization, WrongProject
from i18n_connect.platform.organizations import (
    Organization,
    get_organization,
    get_organization_by_slug,
)
from i18n_connect.platform.projects import Project, get_project, get_project_by_slug, list_projects

__all__ = [
    "organization_by_id",
    "organization_by_slug",
    "project_by_id",
    "project_by_slug",
    "visible_projects",
]


def _own(caller: Caller, organization: Organization | None) -> Organization:
    if organization is None:
        raise NotFound("No such organization.")
    if organization.id != caller.context.organization_id:
        raise WrongOrganization()
    return organization


def _allowed(caller: Caller, project: Project | None) -> Project:
    if project is None:
        raise NotFound("No such project.")
    if project.organization_id != caller.context.organization_id:
        raise WrongOrganization()
    if not caller.context.allows_project(project.id):
        raise WrongProject()
    return project


async def organization_by_id(caller: Caller, organization_id: str) -> Organization:
    return _own(caller, await get_organization(caller.conn, organization_id))


async def organization_by_slug(caller: Caller, slug: str) -> Organization:
    return _own(caller, await get_organization_by_slug(caller.conn, slug))


async def project_by_id(caller: Caller, project_id: str) -> Project:
    return _allowed(caller, await get_project(caller.conn, project_id))


async def project_by_slug(caller: Caller, organization: Organization, slug: str) -> Project:
    return _allowed(caller, await get_project_by_slug(caller.conn, organization.id, slug))


async def visible_projects(caller: Caller, organization: Organization) -> list[Project]:
    """The organization's projects that the token may see."""
    return [
        project
        for project in await list_projects(caller.conn, organization.id)
        if caller.context.allows_project(project.id)
    ]
