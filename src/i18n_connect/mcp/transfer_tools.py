"""The MCP tools ``exportTranslations`` and ``importTranslations``: the partner API's export and
import (`i18n_connect.api.transfer_routes`) for agents, with the same scopes and checks
(`calls`: the organization, the scope, one transaction, the REST error bodies).

The file travels as text in the ``content`` argument or result, so an import is bounded
by the MCP request body limit (``I18N_CONNECT_MAX_BODY_BYTES``). An import never
publishes; creating keys also needs keys:write; a malformed file or a bad text is a
tool error naming the line or the key, with nothing written. As at the REST route, the
file is parsed on a worker thread before the transaction opens.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from i18n_connect import access
from i18n_connect.api.models import ImportOut
from i18n_connect.errors import ProtocolError
from i18n_connect.formats import FormatName, Options, get_format
from i18n_connect.mcp.calls import (
    Language,
    Organization,
    ProjectRef,
    ToolCall,
    add_tools,
    caller_of,
    choose_installation,
    refusal,
    run,
)
from i18n_connect.platform import transfer
from i18n_connect.platform.keys import DEFAULT_NAMESPACE, check_namespace
from i18n_connect.platform.projects import normalize_language
from i18n_connect.services import Services
from i18n_connect.web.etags import etag_of

__all__ = ["register_transfer_tools"]

Format = Annotated[FormatName, Field(description="The file format, e.g. json, xliff, po.")]
Separator = Annotated[
    str, Field(min_length=1, max_length=4, description="Between levels of nested JSON/YAML.")
]


class ExportOut(BaseModel):
    """The exported file as text, with the strong ETag the REST route gives its bytes."""

    language: str
    format: str
    etag: str
    content: str


def register_transfer_tools(server: MCPServer[Any], services: Services) -> None:
    """Add ``exportTranslations`` and ``importTranslations`` to ``server``."""

    async def exportTranslations(
        ctx: Context,
        project: ProjectRef,
        language: Language,
        format: Format = "json",
        state: Literal["draft", "published"] = "draft",
        namespace: Annotated[str | None, Field(max_length=64)] = None,
        separator: Separator = ".",
        organization: Organization = None,
    ) -> Annotated[CallToolResult, ExportOut]:
        """Export one language of a project as a translation file [translations:read]."""

        async def body(call: ToolCall) -> ExportOut:
            found = await call.project(project)
            entries = await transfer.export_entries(
                call.conn, found, language, state=state, namespace=namespace
            )
            code = transfer.project_language(found, language)
            rendered = get_format(format).render(
                entries, Options(code, found.source_language, separator)
            )
            return ExportOut(
                language=code, format=format, etag=etag_of(rendered), content=rendered.decode()
            )

        return await run(ctx, services, "exportTranslations", organization, body)

    async def importTranslations(
        ctx: Context,
        project: ProjectRef,
        language: Language,
        format: Format,
        content: Annotated[str, Field(description="The whole file, as text.")],
        mode: Literal["merge", "replace-drafts"] = "merge",
        namespace: Annotated[str, Field(max_length=64)] = DEFAULT_NAMESPACE,
        separator: Separator = ".",
        organization: Organization = None,
    ) -> Annotated[CallToolResult, ImportOut]:
        """Import a translation file as drafts of one language, never published
        [translations:write] (and keys:write when it creates keys)."""
        try:  # the scope first, then the file, before any transaction (as the REST route)
            installation = choose_installation(caller_of(ctx), organization)
            access.require_scope(installation.scopes, "translations:write")
            code = normalize_language(language)
            check_namespace(namespace)
            parsed = await anyio.to_thread.run_sync(
                get_format(format).parse, content.encode(), Options(code, "", separator)
            )
        except ProtocolError as exc:
            return refusal(exc)

        async def body(call: ToolCall) -> ImportOut:
            report = await transfer.import_entries(
                call.conn,
                await call.project(project),
                code,
                parsed,
                mode=mode,
                may_create_keys="keys:write" in call.installation.scopes,
                now=services.clock.now(),
                namespace=namespace,
            )
            return ImportOut.of(code, format, mode, report)

        return await run(ctx, services, "importTranslations", organization, body)

    add_tools(server, exportTranslations, importTranslations)
