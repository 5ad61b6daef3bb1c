"""The MCP tools over a project's glossary and its content models and entries, answering the
partner API's bodies of the same operations (`api.translation_routes`, `api.resource_routes`)."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import Field

from i18n_connect.api import listings
from i18n_connect.api.cursors import DEFAULT_LIMIT, ToolCursor, ToolLimit
from i18n_connect.api.models import (
    ContentEntryOut,
    EntriesOut,
    GlossaryOut,
    GlossaryTermIn,
    GlossaryTermOut,
    ModelsOut,
    NamesOut,
    PublishedEntriesOut,
)
from i18n_connect.mcp.calls import Organization, ProjectRef, ToolCall, add_tools, run
from i18n_connect.platform import content, glossary
from i18n_connect.services import Services

__all__ = ["register_content_tools"]

_MAX_TERMS = 500  # as `api.models.SaveGlossaryRequest`

ModelSlug = Annotated[str, Field(description="Content model slug, e.g. blog-post.", max_length=64)]
EntrySlug = Annotated[str, Field(description="Entry slug, e.g. hello-world.", max_length=64)]


def register_content_tools(server: MCPServer[Any], services: Services) -> None:
    """Add the glossary and content tools; each runs in its own transaction."""

    async def listGlossaryTerms(
        ctx: Context,
        project: ProjectRef,
        limit: ToolLimit = DEFAULT_LIMIT,
        cursor: ToolCursor = None,
        organization: Organization = None,
    ) -> Annotated[CallToolResult, GlossaryOut]:
        """List the project's glossary: terms, descriptions and approved translations, by
        term, a page at a time (pass next_cursor as cursor) [glossary:read]."""

        async def body(call: ToolCall) -> GlossaryOut:
            found = await call.project(project)
            return await listings.glossary_page(
                call.conn, call.services, found.id, limit=limit, cursor=cursor
            )

        return await run(ctx, services, "listGlossaryTerms", organization, body)

    async def upsertGlossaryTerms(
        ctx: Context,
        project: ProjectRef,
        terms: Annotated[list[GlossaryTermIn], Field(max_length=_MAX_TERMS)],
        organization: Organization = None,
    ) -> Annotated[CallToolResult, GlossaryOut]:
        """Create glossary terms, or replace those of the same name [glossary:write]."""

        async def body(call: ToolCall) -> GlossaryOut:
            found = await call.project(project)
            inputs = [glossary.TermInput(t.term, t.description, t.translations) for t in terms]
            saved = await glossary.save_terms(
                call.conn, found.id, inputs, call.services.clock.now()
            )
            return GlossaryOut(terms=[GlossaryTermOut.of(term) for term in saved])

        return await run(ctx, services, "upsertGlossaryTerms", organization, body)

    async def deleteGlossaryTerms(
        ctx: Context,
        project: ProjectRef,
        terms: Annotated[list[str], Field(max_length=_MAX_TERMS)],
        organization: Organization = None,
    ) -> Annotated[CallToolResult, NamesOut]:
        """Delete glossary terms by name [glossary:write]."""

        async def body(call: ToolCall) -> NamesOut:
            found = await call.project(project)
            return NamesOut(deleted=await glossary.delete_terms(call.conn, found.id, terms))

        return await run(ctx, services, "deleteGlossaryTerms", organization, body)

    async def listContentModels(
        ctx: Context,
        project: ProjectRef,
        limit: ToolLimit = DEFAULT_LIMIT,
        cursor: ToolCursor = None,
        organization: Organization = None,
    ) -> Annotated[CallToolResult, ModelsOut]:
        """List the project's content models and their fields, by slug, a page at a time
        (pass next_cursor as cursor) [content:read]."""

        async def body(call: ToolCall) -> ModelsOut:
            found = await call.project(project)
            return await listings.models_page(
                call.conn, call.services, found.id, limit=limit, cursor=cursor
            )

        return await run(ctx, services, "listContentModels", organization, body)

    async def listContentEntries(
        ctx: Context,
        project: ProjectRef,
        model: ModelSlug,
        limit: ToolLimit = DEFAULT_LIMIT,
        cursor: ToolCursor = None,
        organization: Organization = None,
    ) -> Annotated[CallToolResult, EntriesOut]:
        """List a content model's entries with draft and published data, by slug, a page at
        a time (pass next_cursor as cursor) [content:read]."""

        async def body(call: ToolCall) -> EntriesOut:
            found = await call.project(project)
            return await listings.entries_page(
                call.conn, call.services, found.id, model, limit=limit, cursor=cursor
            )

        return await run(ctx, services, "listContentEntries", organization, body)

    async def getContentEntry(
        ctx: Context,
        project: ProjectRef,
        model: ModelSlug,
        entry: EntrySlug,
        organization: Organization = None,
    ) -> Annotated[CallToolResult, ContentEntryOut]:
        """Get one content entry with its draft and published data [content:read]."""

        async def body(call: ToolCall) -> ContentEntryOut:
            found = await call.project(project)
            return ContentEntryOut.of(await content.get_entry(call.conn, found.id, model, entry))

        return await run(ctx, services, "getContentEntry", organization, body)

    async def updateContentEntry(
        ctx: Context,
        project: ProjectRef,
        model: ModelSlug,
        entry: EntrySlug,
        data: Annotated[
            dict[str, Any],
            Field(description="Field values; a localized field takes an object of language: text."),
        ],
        organization: Organization = None,
    ) -> Annotated[CallToolResult, ContentEntryOut]:
        """Create an entry or change its draft; fields not named keep their draft value
        [content:write]."""

        async def body(call: ToolCall) -> ContentEntryOut:
            found = await call.project(project)
            saved = await content.save_entry(
                call.conn, found.id, model, entry, data, call.services.clock.now()
            )
            return ContentEntryOut.of(saved)

        return await run(ctx, services, "updateContentEntry", organization, body)

    async def publishContentEntries(
        ctx: Context,
        project: ProjectRef,
        model: ModelSlug,
        entries: Annotated[
            list[str] | None, Field(description="Entry slugs; absent = every entry.")
        ] = None,
        organization: Organization = None,
    ) -> Annotated[CallToolResult, PublishedEntriesOut]:
        """Publish the drafts of a model's entries to live apps [content:publish]."""

        async def body(call: ToolCall) -> PublishedEntriesOut:
            found = await call.project(project)
            published = await content.publish_entries(
                call.conn, found.id, model, entries, call.services.clock.now()
            )
            return PublishedEntriesOut(published=published)

        return await run(ctx, services, "publishContentEntries", organization, body)

    add_tools(
        server,
        listGlossaryTerms,
        upsertGlossaryTerms,
        deleteGlossaryTerms,
        listContentModels,
        listContentEntries,
        getContentEntry,
        updateContentEntry,
        publishContentEntries,
    )
