"""One MCP tool call: in which organization it acts, the scope check, its transaction, and how
its answer and its refusal are shaped.

Every tool acts in one organization the caller's token covers: the only one
(always so at ``/mcp/o/{org_slug}``), or the one named by its ``organization``
argument (id or slug) when the token covers several. Projects are named by id
or slug and must belong to that organization and, for a project-limited
installation token, be one of its projects: `i18n_connect.access`, the partner
API's checks, in the partner API's order (scope, then organization and project).

A tool answers the partner API's response body for the same operation, as
``structuredContent`` and as JSON text (MCP 2025-06-18 "Structured content").
A refusal is a tool error (``isError: true``) whose text is the partner API's
JSON error body for the same case, ``{"error", "error_description"}`` plus
``required`` for ``missing_scope`` — byte for byte what the REST route answers
(its status is not repeated: a tool error has none).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult, TextContent
from pydantic import BaseModel, Field
from pydantic_core import to_json
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import access
from i18n_connect.errors import InvalidRequest, ProtocolError, WrongOrganization
from i18n_connect.mcp.auth import Installation, McpCaller
from i18n_connect.mcp.catalog import TOOLS
from i18n_connect.platform.projects import Project
from i18n_connect.services import Services

__all__ = [
    "CALLER_STATE_KEY",
    "Language",
    "Organization",
    "ProjectRef",
    "ToolCall",
    "add_tools",
    "caller_of",
    "choose_installation",
    "refusal",
    "run",
]

CALLER_STATE_KEY = "i18n_connect_mcp_caller"

Organization = Annotated[
    str | None,
    Field(
        description="Organization id or slug; needed only when the token covers several.",
        max_length=64,
    ),
]
ProjectRef = Annotated[str, Field(description="Project id (prj_…) or slug.", max_length=64)]
Language = Annotated[
    str, Field(description="A BCP 47 language code of the project, e.g. de-DE.", max_length=35)
]


@dataclass(frozen=True, slots=True)
class ToolCall:
    """What one tool invocation works with, inside its transaction."""

    conn: AsyncConnection
    installation: Installation
    services: Services

    async def project(self, ref: str) -> Project:
        return await access.project_by_ref(self.conn, self.installation, ref)


Body = Callable[[ToolCall], Awaitable[BaseModel]]


def caller_of(ctx: Context) -> McpCaller:
    request = ctx.request_context.request
    caller = getattr(request, "scope", {}).get("state", {}).get(CALLER_STATE_KEY)
    if not isinstance(caller, McpCaller):
        raise InvalidRequest("This tool needs an authenticated request.")
    return caller


def choose_installation(caller: McpCaller, organization: str | None) -> Installation:
    """The organization a call acts in: the named one (403 ``wrong_organization`` when the
    token does not cover it), else the only one (400 ``invalid_request`` naming the choices)."""
    choices = caller.installations
    if organization is not None:
        for installation in choices:
            if organization in (installation.organization_id, installation.organization_slug):
                return installation
        raise WrongOrganization(f"The token does not cover the organization {organization!r}.")
    if len(choices) == 1:
        return choices[0]
    names = ", ".join(f"{i.organization_slug} ({i.organization_id})" for i in choices)
    raise InvalidRequest(
        f"The token covers several organizations; pass organization: one of {names}."
    )


def refusal(error: ProtocolError) -> CallToolResult:
    """A tool error carrying the partner API's JSON error body, serialized as Starlette's
    ``JSONResponse`` serializes it."""
    text = json.dumps(error.body(), ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return CallToolResult(content=[TextContent(type="text", text=text)], is_error=True)


def _answer(result: BaseModel) -> CallToolResult:
    structured: dict[str, Any] = result.model_dump(mode="json")
    text = to_json(structured).decode()
    return CallToolResult(
        content=[TextContent(type="text", text=text)], structured_content=structured
    )


async def run(
    ctx: Context, services: Services, tool: str, organization: str | None, body: Body
) -> CallToolResult:
    """Run ``body`` for ``tool`` in one transaction — read-only for a reading tool."""
    info = TOOLS[tool]
    try:
        installation = choose_installation(caller_of(ctx), organization)
        access.require_scope(installation.scopes, info.scope)
        async with services.db.transaction(readonly=info.read_only) as conn:
            result = await body(ToolCall(conn, installation, services))
    except ProtocolError as exc:
        return refusal(exc)
    return _answer(result)


def add_tools(server: MCPServer[Any], *tools: Callable[..., Awaitable[CallToolResult]]) -> None:
    """Register ``tools`` under their function names, with the title and hints of `TOOLS`."""
    for tool in tools:
        info = TOOLS[tool.__name__]
        server.add_tool(
            tool,
            name=tool.__name__,
            title=info.title,
            annotations=info.annotations(),
            structured_output=True,
        )
