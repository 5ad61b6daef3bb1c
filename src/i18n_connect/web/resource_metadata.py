"""Protected resource metadata (RFC 9728 §3) of the partner API and of the MCP server.

``/.well-known/oauth-protected-resource`` describes the partner API (also at
``…/api/oauth-client``, the §3.1 location for its identifier
``<issuer>/api/oauth-client``) and ``/.well-known/oauth-protected-resource/mcp``
the MCP server (the path of a resource identifier is appended to the
well-known prefix, §3.1), and ``…/mcp/o/{org_slug}`` the MCP server of one
organization (`i18n_connect.resources`). Each names
this server's issuer — the same string as the authorization server metadata —
as their only authorization server.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from i18n_connect.errors import NotFound
from i18n_connect.platform.organizations import is_slug
from i18n_connect.resources import ORGANIZATION_PATH, mcp_organization_resource
from i18n_connect.scopes import CATALOG
from i18n_connect.settings import Settings
from i18n_connect.web.sessions import services_of

__all__ = ["PREFIX", "mcp_resource_metadata_url", "router"]

PREFIX = "/.well-known/oauth-protected-resource"
_CACHE = {"Cache-Control": "public, max-age=3600"}

router = APIRouter(include_in_schema=False)


def mcp_resource_metadata_url(settings: Settings, organization_slug: str | None = None) -> str:
    """Where the metadata of the MCP server (of one organization, when a slug is given) lives:
    the ``resource_metadata`` of its challenges."""
    if organization_slug is None:
        return f"{settings.issuer}{PREFIX}/mcp"
    return f"{settings.issuer}{PREFIX}{ORGANIZATION_PATH}{organization_slug}"


def _document(settings: Settings, resource: str, name: str) -> dict[str, Any]:
    return {
        "resource": resource,
        "authorization_servers": [settings.issuer],
        "scopes_supported": list(CATALOG),
        "bearer_methods_supported": ["header"],
        "resource_name": name,
        "resource_documentation": f"{settings.issuer}/docs",
    }


@router.get(PREFIX)
@router.get(PREFIX + "/api/oauth-client")
async def partner_api_metadata(request: Request) -> JSONResponse:
    settings = services_of(request).settings
    body = _document(settings, settings.api_resource, "i18n-connect partner API")
    return JSONResponse(body, headers=_CACHE)


@router.get(PREFIX + "/mcp")
async def mcp_metadata(request: Request) -> JSONResponse:
    settings = services_of(request).settings
    body = _document(settings, settings.mcp_resource, "i18n-connect MCP server")
    return JSONResponse(body, headers=_CACHE)


@router.get(PREFIX + ORGANIZATION_PATH + "{org_slug}")
async def mcp_organization_metadata(request: Request, org_slug: str) -> JSONResponse:
    """Served for any well-formed slug: organization slugs are public (the CDN's paths), and
    the consent screen explains when the person cannot connect that organization."""
    settings = services_of(request).settings
    if not is_slug(org_slug):
        raise NotFound("No such MCP server.")
    resource = mcp_organization_resource(settings, org_slug)
    body = _document(settings, resource, f"i18n-connect MCP server of {org_slug}")
    return JSONResponse(body, headers=_CACHE)
