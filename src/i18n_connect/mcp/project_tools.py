"""The MCP tools over projects, keys and translations (SPEC §5), answering the partner API's
bodies of `api.translation_routes` and `api.resource_routes`."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.types import CallToolResult
from pydantic import BaseModel, Field

from i18n_connect.api import listings
from i18n_connect.api.cursors import DEFAULT_LIMIT, ToolCursor, ToolLimit
from i18n_connect.api.models import (
    KeyIn,
    KeyOut,
    KeysOut,
    KeyUpdateIn,
    NamesOut,
    ProjectOut,
    ProjectsOut,
    PublishCountOut,
    TranslationsOut,
    WrittenOut,
)
from i18n_connect.mcp.calls import Language, Organization, ProjectRef, ToolCall, add_tools, run
from i18n_connect.platform import keys as platform_keys
from i18n_connect.platform import translations as platform_translations
from i18n_connect.platform.projects import normalize_language
from i18n_connect.scopes import PUBLISH_TRANSLATIONS
from i18n_connect.services import Services

__all__ = ["TranslationContextOut", "register_project_tools"]

_GUIDANCE = (
    "Write drafts with setTranslations (one language) or updateKeys (several); "
    "drafts go live only through publishTranslations."
)


class TranslationContextOut(BaseModel):
    project: ProjectOut
    source_language: str
    target_languages: list[str]
    guidance: str


def register_project_tools(server: MCPServer[Any], services: Services) -> None:
    """Add the ten tools of SPEC §5; each runs in its own transaction."""

    async def listProjects(
        ctx: Context,
        limit: ToolLimit = DEFAULT_LIMIT,
        cursor: ToolCursor = None,
        organization: Organization = None,
    ) -> Annotated[CallToolResult, ProjectsOut]:
        """List the projects of the organization, by name, a page at a time (pass
        next_cursor as cursor) [projects:read]."""

        async def body(call: ToolCall) -> ProjectsOut:
            return await listings.projects_page(
                call.conn, call.services, call.installation, limit=limit, cursor=cursor
            )

        return await run(ctx, services, "listProjects", organization, body)

    async def getProject(
        ctx: Context, project: ProjectRef, organization: Organization = None
    ) -> Annotated[CallToolResult, ProjectOut]:
        """Get one project with its languages [projects:read]."""

        async def body(call: ToolCall) -> ProjectOut:
            return ProjectOut.of(await call.project(project))

        return await run(ctx, services, "getProject", organization, body)

    async def getTranslationContext(
        ctx: Context, project: ProjectRef, organization: Organization = None
    ) -> Annotated[CallToolResult, TranslationContextOut]:
        """What a translator needs before writing: source and target languages [projects:read]."""

        async def body(call: ToolCall) -> TranslationContextOut:
            found = await call.project(project)
            return TranslationContextOut(
                project=ProjectOut.of(found),
                source_language=found.source_language,
                target_languages=list(found.target_languages),
                guidance=_GUIDANCE,
            )

        return await run(ctx, services, "getTranslationContext", organization, body)

    async def listKeys(
        ctx: Context,
        project: ProjectRef,
        prefix: Annotated[str | None, Field(max_length=500)] = None,
        limit: ToolLimit = 200,
        offset: Annotated[
            int, Field(ge=0, le=10_000_000, description="Deprecated: pass cursor instead.")
        ] = 0,
        cursor: ToolCursor = None,
        organization: Organization = None,
    ) -> Annotated[CallToolResult, KeysOut]:
        """List translation keys by name, optionally under a prefix, a page at a time (pass
        next_cursor as cursor) [keys:read]."""

        async def body(call: ToolCall) -> KeysOut:
            found = await call.project(project)
            return await listings.keys_page(
                call.conn,
                call.services,
                found.id,
                prefix=prefix,
                limit=limit,
                offset=offset,
                cursor=cursor,
            )

        return await run(ctx, services, "listKeys", organization, body)

    async def createKeys(
        ctx: Context,
        project: ProjectRef,
        keys: Annotated[list[KeyIn], Field(max_length=platform_keys.MAX_BATCH)],
        organization: Organization = None,
    ) -> Annotated[CallToolResult, KeysOut]:
        """Create translation keys [keys:write]."""

        async def body(call: ToolCall) -> KeysOut:
            found = await call.project(project)
            created = await platform_keys.create_keys(
                call.conn,
                found.id,
                [(key.name, key.description) for key in keys],
                call.services.clock.now(),
                namespaces={key.name: key.namespace for key in keys},
            )
            return KeysOut(keys=[KeyOut.of(key) for key in created])

        return await run(ctx, services, "createKeys", organization, body)

    async def deleteKeys(
        ctx: Context,
        project: ProjectRef,
        names: Annotated[list[str], Field(max_length=platform_keys.MAX_BATCH)],
        organization: Organization = None,
    ) -> Annotated[CallToolResult, NamesOut]:
        """Delete translation keys and their translations [keys:write]; a key with published
        text also needs [translations:publish]."""

        async def body(call: ToolCall) -> NamesOut:
            found = await call.project(project)
            may_unpublish = PUBLISH_TRANSLATIONS in call.installation.scopes
            deleted = await platform_keys.delete_keys(
                call.conn,
                found.id,
                names,
                may_unpublish=may_unpublish,
                now=call.services.clock.now(),
            )
            return NamesOut(deleted=deleted)

        return await run(ctx, services, "deleteKeys", organization, body)

    async def updateKeys(
        ctx: Context,
        project: ProjectRef,
        keys: Annotated[list[KeyUpdateIn], Field(max_length=platform_keys.MAX_BATCH)],
        organization: Organization = None,
    ) -> Annotated[CallToolResult, KeysOut]:
        """Change key descriptions and draft translations [translations:write]."""

        async def body(call: ToolCall) -> KeysOut:
            found = await call.project(project)
            changes = [platform_keys.KeyUpdate(k.name, k.description, k.translations) for k in keys]
            updated = await platform_keys.update_keys(
                call.conn, found.id, changes, call.services.clock.now()
            )
            return KeysOut(keys=[KeyOut.of(key) for key in updated])

        return await run(ctx, services, "updateKeys", organization, body)

    async def setTranslations(
        ctx: Context,
        project: ProjectRef,
        language: Language,
        translations: Annotated[dict[str, str], Field(description="Draft text by key name.")],
        organization: Organization = None,
    ) -> Annotated[CallToolResult, WrittenOut]:
        """Write draft translations of one language [translations:write]."""

        async def body(call: ToolCall) -> WrittenOut:
            found = await call.project(project)
            written = await platform_translations.set_translations(
                call.conn, found.id, language, translations, call.services.clock.now()
            )
            return WrittenOut(language=normalize_language(language), written=written)

        return await run(ctx, services, "setTranslations", organization, body)

    async def getTranslations(
        ctx: Context,
        project: ProjectRef,
        language: Language,
        keys: list[str] | None = None,
        limit: ToolLimit = DEFAULT_LIMIT,
        cursor: ToolCursor = None,
        organization: Organization = None,
    ) -> Annotated[CallToolResult, TranslationsOut]:
        """Read draft and published translations of one language (of the named keys, if
        given), by key name, a page at a time (pass next_cursor as cursor)
        [translations:read]."""

        async def body(call: ToolCall) -> TranslationsOut:
            found = await call.project(project)
            return await listings.translations_page(
                call.conn, call.services, found.id, language, limit=limit, cursor=cursor, keys=keys
            )

        return await run(ctx, services, "getTranslations", organization, body)

    async def publishTranslations(
        ctx: Context,
        project: ProjectRef,
        languages: list[str] | None = None,
        organization: Organization = None,
    ) -> Annotated[CallToolResult, PublishCountOut]:
        """Publish changed drafts to live apps and the CDN [translations:publish]."""

        async def body(call: ToolCall) -> PublishCountOut:
            found = await call.project(project)
            count = await platform_translations.publish_translations(
                call.conn, found.id, languages, call.services.clock.now()
            )
            return PublishCountOut(published=count)

        return await run(ctx, services, "publishTranslations", organization, body)

    add_tools(
        server,
        listProjects,
        getProject,
        getTranslationContext,
        listKeys,
        createKeys,
        deleteKeys,
        updateKeys,
        setTranslations,
        getTranslations,
        publishTranslations,
    )
