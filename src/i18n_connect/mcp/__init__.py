"""The MCP server at ``/mcp`` and ``/mcp/o/{org_slug}`` (SPEC §5): tools over the platform data,
behind bearer-token verification and scope step-up challenges."""

from i18n_connect.mcp.server import DEFAULT_MCP_SCOPES, McpEndpoint, build_mcp
from i18n_connect.mcp.tools import TOOL_SCOPES

__all__ = ["DEFAULT_MCP_SCOPES", "TOOL_SCOPES", "McpEndpoint", "build_mcp"]
