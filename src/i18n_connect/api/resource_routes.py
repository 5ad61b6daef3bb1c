"""Organizations, projects and content models over the partner API (SPEC §4), for
installation tokens.

Each route names its scope in its dependency; `api.auth` checks the token and
the scope, `access` the organization and project. The two reads partners
make most (the organizations and one project) are also plain Starlette routes
(`hot_routes`, for `web.hot_routes`): the same handler and the same bytes,
without FastAPI's dependency injection.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request, Response
from pydantic import BaseModel
from starlette.routing import Route

from i18n_connect import access
from i18n_connect.api import listings
from i18n_connect.api.auth import Caller, installation_call, installation_caller
from i18n_connect.api.cursors import DEFAULT_LIMIT, CursorQuery, LimitQuery
from i18n_connect.api.json_route import JsonBodyRoute
from i18n_connect.api.models import (
    AddLanguageRequest,
    CreateProjectRequest,
    ErrorBody,
    ModelsOut,
    OrganizationsOut,
    ProjectOut,
    ProjectsOut,
)
from i18n_connect.errors import WrongProject
from i18n_connect.platform.projects import add_language, create_project

__all__ = ["ERRORS", "hot_routes", "router"]

router = APIRouter(prefix="/api/oauth-client", tags=["resources"], route_class=JsonBodyRoute)

ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorBody} for status in (400, 401, 403, 404, 409, 410, 429)
}

OrgRead = Annotated[Caller, Depends(installation_caller("org:read"), scope="function")]
ProjectsRead = Annotated[Caller, Depends(installation_caller("projects:read"), scope="function")]
ProjectsWrite = Annotated[
    Caller, Depends(installation_caller("projects:write", write=True), scope="function")
]
ContentRead = Annotated[Caller, Depends(installation_caller("content:read"), scope="function")]
Id = Annotated[str, Path(max_length=64)]
Slug = Annotated[str, Path(max_length=64)]


@router.get("/organizations", response_model=OrganizationsOut, responses=ERRORS)
async def list_organizations(
    caller: OrgRead, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> OrganizationsOut:
    """The one organization of the installation token (a list of one, paged as every list)."""
    organization = await access.organization_by_id(
        caller.conn, caller.context, caller.context.organization_id
    )
    return listings.organizations_page(caller.services, organization, limit=limit, cursor=cursor)


@router.get("/organizations/{org_id}/projects", response_model=ProjectsOut, responses=ERRORS)
async def list_organization_projects(
    caller: ProjectsRead, org_id: Id, limit: LimitQuery = DEFAULT_LIMIT, cursor: CursorQuery = None
) -> ProjectsOut:
    """The organization's projects that the token may see, by name, then slug."""
    await access.organization_by_id(caller.conn, caller.context, org_id)  # 403/404 first
    return await listings.projects_page(
        caller.conn, caller.services, caller.context, limit=limit, cursor=cursor
    )


@router.get(
    "/organizations/{org_slug}/projects/{project_slug}/models",
    response_model=ModelsOut,
    responses=ERRORS,
)
async def list_project_models(
    caller: ContentRead,
    org_slug: Slug,
    project_slug: Slug,
    limit: LimitQuery = DEFAULT_LIMIT,
    cursor: CursorQuery = None,
) -> ModelsOut:
    """The content models of a project, by organization and project slug; by model slug."""
    organization = await access.organization_by_slug(caller.conn, caller.context, org_slug)
    project = await access.project_by_slug(caller.conn, caller.context, organization, project_slug)
    return await listings.models_page(
        caller.conn, caller.services, project.id, limit=limit, cursor=cursor
    )


@router.post("/v1/projects", status_code=201, response_model=ProjectOut, responses=ERRORS)
async def create_organization_project(
    caller: ProjectsWrite, body: CreateProjectRequest
) -> ProjectOut:
    """Create a project in the token's organization (a project-limited token may not)."""
    if caller.context.limited:
        raise WrongProject("A token limited to some projects cannot create projects.")
    project = await create_project(
        caller.conn,
        organization_id=caller.context.organization_id,
        name=body.name,
        slug=body.slug,
        source_language=body.source_language,
        now=caller.now,
    )
    return ProjectOut.of(project)


@router.get("/v1/projects/{project_id}", response_model=ProjectOut, responses=ERRORS)
async def get_one_project(caller: ProjectsRead, project_id: Id) -> ProjectOut:
    return ProjectOut.of(await access.project_by_id(caller.conn, caller.context, project_id))


@router.post(
    "/v1/projects/{project_id}/languages",
    status_code=201,
    response_model=ProjectOut,
    responses=ERRORS,
)
async def add_project_language(
    caller: ProjectsWrite, project_id: Id, body: AddLanguageRequest
) -> ProjectOut:
    """Add a target language; the project with its languages."""
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    return ProjectOut.of(await add_language(caller.conn, project.id, body.code, caller.now))


def _hot_read(path: str, scope: str, handler: Callable[..., Awaitable[BaseModel]]) -> Route:
    """``GET path`` as a plain Starlette route: `handler` with the caller that needs ``scope``
    and the path parameters, answered as FastAPI answers its response model."""

    async def endpoint(request: Request) -> Response:
        async with installation_call(request, scope) as caller:
            answer = await handler(caller, **request.path_params)
        return Response(answer.model_dump_json(by_alias=True), media_type="application/json")

    return Route(router.prefix + path, endpoint, methods=["GET"])


hot_routes = [
    _hot_read("/organizations", "org:read", list_organizations),
    _hot_read("/v1/projects/{project_id}", "projects:read", get_one_project),
]
