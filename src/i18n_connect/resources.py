"""The protected resources this server serves (RFC 8707 resource indicators, RFC 9728 §3):
the partner API, the MCP server at ``/mcp``, and one MCP server per organization at
``/mcp/o/{org_slug}``.

An MCP client keeps one connection per server URL, so a person who works in two
organizations connects each at its own address. Each such address is its own
resource: its own metadata document, its own token audience, and a consent
screen that offers that organization only. Any well-formed slug names a
resource: whether the organization exists, and whether the person administers
it, is the consent screen's question, so these checks never read the database.
"""

from __future__ import annotations

from i18n_connect.platform.organizations import is_slug
from i18n_connect.settings import Settings

__all__ = [
    "ORGANIZATION_PATH",
    "mcp_organization_resource",
    "organization_of_resource",
    "serves",
]

ORGANIZATION_PATH = "/mcp/o/"  # followed by the organization's slug


def mcp_organization_resource(settings: Settings, slug: str) -> str:
    """The resource identifier of the MCP server of one organization."""
    return f"{settings.issuer}{ORGANIZATION_PATH}{slug}"


def organization_of_resource(resource: str | None) -> str | None:
    """The organization slug of a per-organization MCP resource identifier — one that `serves`
    accepted, such as the resource a stored authorization request is for; ``None`` for any
    other."""
    if resource is None:
        return None
    _, found, slug = resource.rpartition(ORGANIZATION_PATH)
    return slug if found and is_slug(slug) else None


def serves(settings: Settings, resource: str) -> bool:
    """Whether ``resource`` names one of this server's protected resources (RFC 8707 §2)."""
    if resource in settings.resources:
        return True
    slug = organization_of_resource(resource)
    return slug is not None and resource == mcp_organization_resource(settings, slug)
