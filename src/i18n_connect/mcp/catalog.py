"""Every MCP tool with its scope, title and behaviour hints (MCP 2025-06-18 ``ToolAnnotations``).

A tool reads, writes drafts, or is destructive: it deletes, changes what live
apps and the CDN serve, or needs a scope the consent screen marks destructive
(SPEC §2). Writing drafts is not destructive: nothing reaches live apps before a
publish. Clients ask for a confirmation before a destructive call; directories
of connectors refuse tools without these hints. No tool reaches outside this
server (``openWorldHint: false``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mcp.types import ToolAnnotations

__all__ = ["TOOLS", "TOOL_SCOPES", "ToolInfo"]

Effect = Literal["read", "draft", "destructive"]


@dataclass(frozen=True, slots=True)
class ToolInfo:
    scope: str
    title: str
    effect: Effect
    idempotent: bool = True  # a repeated call with the same arguments changes nothing more

    @property
    def read_only(self) -> bool:
        return self.effect == "read"

    def annotations(self) -> ToolAnnotations:
        return ToolAnnotations(
            title=self.title,
            read_only_hint=self.read_only,
            destructive_hint=self.effect == "destructive",
            idempotent_hint=self.idempotent,
            open_world_hint=False,
        )


TOOLS: dict[str, ToolInfo] = {
    "listProjects": ToolInfo("projects:read", "List projects", "read"),
    "getProject": ToolInfo("projects:read", "Get a project", "read"),
    "getTranslationContext": ToolInfo("projects:read", "Get translation context", "read"),
    "listKeys": ToolInfo("keys:read", "List translation keys", "read"),
    "createKeys": ToolInfo("keys:write", "Create translation keys", "draft", idempotent=False),
    "deleteKeys": ToolInfo("keys:write", "Delete translation keys", "destructive"),
    "updateKeys": ToolInfo("translations:write", "Update keys and drafts", "draft"),
    "setTranslations": ToolInfo("translations:write", "Write draft translations", "draft"),
    "getTranslations": ToolInfo("translations:read", "Get translations", "read"),
    "publishTranslations": ToolInfo("translations:publish", "Publish translations", "destructive"),
    "exportTranslations": ToolInfo("translations:read", "Export a translation file", "read"),
    "importTranslations": ToolInfo(
        "translations:write", "Import a translation file as drafts", "destructive"
    ),
    "listGlossaryTerms": ToolInfo("glossary:read", "List glossary terms", "read"),
    "upsertGlossaryTerms": ToolInfo(
        "glossary:write", "Create or replace glossary terms", "destructive"
    ),
    "deleteGlossaryTerms": ToolInfo("glossary:write", "Delete glossary terms", "destructive"),
    "listContentModels": ToolInfo("content:read", "List content models", "read"),
    "listContentEntries": ToolInfo("content:read", "List content entries", "read"),
    "getContentEntry": ToolInfo("content:read", "Get a content entry", "read"),
    "updateContentEntry": ToolInfo("content:write", "Create or update a content entry", "draft"),
    "publishContentEntries": ToolInfo("content:publish", "Publish content entries", "destructive"),
}

TOOL_SCOPES: dict[str, str] = {name: info.scope for name, info in TOOLS.items()}
