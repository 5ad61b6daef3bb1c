"""The MCP tools (SPEC §5 and every other scope of §2 that names platform data): projects,
keys and translations (`mcp.project_tools`), glossary and content (`mcp.content_tools`),
each with the scope, title and hints of `mcp.catalog`, run as `mcp.calls` describes.
"""

from __future__ import annotations

from typing import Any

from mcp.server.mcpserver import MCPServer

from i18n_connect import access
from i18n_connect.errors import ProtocolError
from i18n_connect.mcp.auth import McpCaller
from i18n_connect.mcp.calls import CALLER_STATE_KEY, choose_installation
from i18n_connect.mcp.catalog import TOOL_SCOPES, TOOLS
from i18n_connect.mcp.content_tools import register_content_tools
from i18n_connect.mcp.project_tools import register_project_tools
from i18n_connect.mcp.transfer_tools import register_transfer_tools
from i18n_connect.platform import keys as platform_keys
from i18n_connect.services import Services

__all__ = [
    "CALLER_STATE_KEY",
    "TOOLS",
    "TOOL_SCOPES",
    "deletes_published_text",
    "register_tools",
]


def register_tools(server: MCPServer[Any], services: Services) -> None:
    """Add every tool of `TOOLS` to ``server``."""
    register_project_tools(server, services)
    register_content_tools(server, services)
    register_transfer_tools(server, services)


async def deletes_published_text(services: Services, caller: McpCaller, arguments: object) -> bool:
    """Whether a ``deleteKeys`` call with these arguments would take published text off the
    CDN; ``False`` for a call the tool refuses anyway (its tool error says why)."""
    if not isinstance(arguments, dict):
        return False
    organization, project, names = (arguments.get(k) for k in ("organization", "project", "names"))
    if not (
        (organization is None or isinstance(organization, str))
        and isinstance(project, str)
        and isinstance(names, list)
        and 0 < len(names) <= platform_keys.MAX_BATCH
        and all(isinstance(name, str) for name in names)
    ):
        return False
    try:
        installation = choose_installation(caller, organization)
        async with services.db.transaction(readonly=True) as conn:
            found = await access.project_by_ref(conn, installation, project)
            ids = await platform_keys.key_ids(conn, found.id, names)
            return bool(await platform_keys.published_key_names(conn, ids))
    except ProtocolError:
        return False
