"""The MCP tools ``exportTranslations`` and ``importTranslations``: the partner API's export and
import (`i18n_connect.api.transfer_routes`) for agents, with the same scopes and checks.

The file travels as text in the ``content`` argument or result, so an import is bounded
by the MCP request body limit (``I18N_CONNECT_MAX_BODY_BYTES``). An import never
publishes; creating keys also needs keys:write, and a malformed file or a bad text is a
tool error naming the line or the key, with nothing written.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import ToolAnnotations
from pydantic import Field

from i18n_connect import access
from i18n_connect.errors import ProtocolError
from i18n_connect.formats import FormatName, Options, get_format
from i18n_connect.mcp.tools import Language, Organization, ProjectRef, _caller, _installation
from i18n_connect.platform import transfer
from i18n_connect.platform.keys import DEFAULT_NAMESPACE, check_namespace
from i18n_connect.platform.projects import normalize_language
from i18n_connect.services import Services
from i18n_connect.web.etags import etag_of

__all__ = ["TRANSFER_TOOL_SCOPES", "register_transfer_tools"]

TRANSFER_TOOL_SCOPES: dict[str, str] = {
    "exportTranslations": "translations:read",
    "importTranslations": "translations:write",
}

Format = Annotated[FormatName, Field(description="The file format, e.g. json, xliff, po.")]
Separator = Annotated[
    str, Field(min_length=1, max_length=4, description="Between levels of nested JSON/YAML.")
]


def _error(exc: ProtocolError) -> ToolError:
    """The partner API's code and description (a malformed file's names its line)."""
    return ToolError(f"{exc.error}: {exc.description}")


def register_transfer_tools(server: MCPServer[Any], services: Services) -> None:
    """Add ``exportTranslations`` and ``importTranslations`` to ``server``."""

    async def exportTranslations(
        ctx: Context,
        project: ProjectRef,
        language: Language,
        format: Format = "json",
        state: Annotated[str, Field(pattern="^(draft|published)$")] = "draft",
        namespace: Annotated[str | None, Field(max_length=64)] = None,
        separator: Separator = ".",
        organization: Organization = None,
    ) -> dict[str, Any]:
        """Export one language of a project as a translation file [translations:read]."""
        installation = _installation(_caller(ctx), organization)
        try:
            access.require_scope(installation.scopes, TRANSFER_TOOL_SCOPES["exportTranslations"])
            async with services.db.transaction(readonly=True) as conn:
                found = await access.project_by_ref(conn, installation, project)
                entries = await transfer.export_entries(
                    conn,
                    found,
                    language,
                    state="published" if state == "published" else "draft",
                    namespace=namespace,
                )
            code = transfer.project_language(found, language)
            options = Options(code, found.source_language, separator)
            body = get_format(format).render(entries, options)
        except ProtocolError as exc:
            raise _error(exc) from exc
        return {
            "language": code,
            "format": format,
            "etag": etag_of(body),
            "content": body.decode(),
        }

    async def importTranslations(
        ctx: Context,
        project: ProjectRef,
        language: Language,
        format: Format,
        content: Annotated[str, Field(description="The whole file, as text.")],
        mode: Annotated[str, Field(pattern="^(merge|replace-drafts)$")] = "merge",
        namespace: Annotated[str, Field(max_length=64)] = DEFAULT_NAMESPACE,
        separator: Separator = ".",
        organization: Organization = None,
    ) -> dict[str, Any]:
        """Import a translation file as drafts of one language, never published
        [translations:write; keys:write when it creates keys]."""
        installation = _installation(_caller(ctx), organization)
        try:
            access.require_scope(installation.scopes, TRANSFER_TOOL_SCOPES["importTranslations"])
            code = normalize_language(language)
            check_namespace(namespace)
            options = Options(code, "", separator)
            data = content.encode()
            parsed = await anyio.to_thread.run_sync(get_format(format).parse, data, options)
            async with services.db.transaction() as conn:
                found = await access.project_by_ref(conn, installation, project)
                report = await transfer.import_entries(
                    conn,
                    found,
                    code,
                    parsed,
                    mode="replace-drafts" if mode == "replace-drafts" else "merge",
                    may_create_keys="keys:write" in installation.scopes,
                    now=services.clock.now(),
                    namespace=namespace,
                )
        except ProtocolError as exc:
            raise _error(exc) from exc
        return {
            "language": code,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "reverted": report.reverted,
            "skipped": [{"key": s.key, "reason": s.reason, "line": s.line} for s in report.skipped],
        }

    server.add_tool(
        exportTranslations,
        name="exportTranslations",
        annotations=ToolAnnotations(
            title="Export translations",
            read_only_hint=True,
            open_world_hint=False,
        ),
    )
    server.add_tool(
        importTranslations,
        name="importTranslations",
        annotations=ToolAnnotations(
            title="Import translations as drafts",
            read_only_hint=False,
            destructive_hint=True,  # replace-drafts drops unpublished drafts
            idempotent_hint=True,
            open_world_hint=False,
        ),
    )
