"""The MCP tools of SPEC §5 over the platform data, and the scope each one needs.

Every tool acts in one organization the caller's token covers: the only one,
or the one named by its ``organization`` argument (id or slug) when the token
covers several. Projects are named by id or slug and must belong to that
organization and, for a project-limited installation token, be one of its
projects: `i18n_connect.access`, the partner API's checks. Failures — a missing
scope, an unknown project, bad input — come back as tool errors that carry the
partner API's error code and description (``not_found: No such project.``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Annotated, Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import access
from i18n_connect.errors import ProtocolError
from i18n_connect.mcp.auth import Installation, McpCaller
from i18n_connect.platform import keys as platform_keys
from i18n_connect.platform import translations as platform_translations
from i18n_connect.platform.projects import Project
from i18n_connect.scopes import PUBLISH_TRANSLATIONS
from i18n_connect.services import Services

__all__ = ["CALLER_STATE_KEY", "TOOL_SCOPES", "deletes_published_text", "register_tools"]

CALLER_STATE_KEY = "i18n_connect_mcp_caller"

TOOL_SCOPES: dict[str, str] = {
    "listProjects": "projects:read",
    "getProject": "projects:read",
    "getTranslationContext": "projects:read",
    "listKeys": "keys:read",
    "createKeys": "keys:write",
    "deleteKeys": "keys:write",
    "updateKeys": "translations:write",
    "setTranslations": "translations:write",
    "getTranslations": "translations:read",
    "publishTranslations": "translations:publish",
}

Organization = Annotated[
    str | None,
    Field(description="Organization id or slug; needed only when the token covers several."),
]
ProjectRef = Annotated[str, Field(description="Project id (prj_…) or slug.")]
Language = Annotated[str, Field(description="A BCP 47 language code of the project, e.g. de-DE.")]


class NewKey(BaseModel):
    name: str = Field(description="Key name, e.g. checkout.title")
    description: str = ""


class KeyChange(BaseModel):
    name: str
    description: str | None = None
    translations: dict[str, str] | None = Field(
        default=None, description="Draft texts by language code."
    )


def _caller(ctx: Context) -> McpCaller:
    request = ctx.request_context.request
    caller = getattr(request, "scope", {}).get("state", {}).get(CALLER_STATE_KEY)
    if not isinstance(caller, McpCaller):
        raise ToolError("This tool needs an authenticated request.")
    return caller


def _installation(caller: McpCaller, organization: str | None) -> Installation:
    choices = caller.installations
    if organization is not None:
        for installation in choices:
            if organization in (installation.organization_id, installation.organization_slug):
                return installation
        raise ToolError(f"The token does not cover the organization {organization!r}.")
    if len(choices) == 1:
        return choices[0]
    names = ", ".join(f"{i.organization_slug} ({i.organization_id})" for i in choices)
    raise ToolError(f"The token covers several organizations; pass organization: one of {names}.")


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
        installation = _installation(caller, organization)
        async with services.db.transaction(readonly=True) as conn:
            found = await access.project_by_ref(conn, installation, project)
            ids = await platform_keys.key_ids(conn, found.id, names)
            return bool(await platform_keys.published_key_names(conn, ids))
    except (ToolError, ProtocolError):
        return False


def _project_json(project: Project) -> dict[str, Any]:
    return {
        "id": project.id,
        "slug": project.slug,
        "name": project.name,
        "sourceLanguage": project.source_language,
        "languages": list(project.languages),
    }


@dataclass(frozen=True, slots=True)
class _Call:
    """What one tool invocation works with."""

    conn: AsyncConnection
    installation: Installation
    services: Services

    async def project(self, ref: str) -> Project:
        return await access.project_by_ref(self.conn, self.installation, ref)


Body = Callable[[_Call], Awaitable[dict[str, Any]]]


def register_tools(server: MCPServer[Any], services: Services) -> None:
    """Add the tools of SPEC §5 to ``server``; each runs in its own transaction."""

    async def run(
        ctx: Context, tool: str, organization: str | None, body: Body, *, write: bool
    ) -> dict[str, Any]:
        installation = _installation(_caller(ctx), organization)
        try:
            access.require_scope(installation.scopes, TOOL_SCOPES[tool])
            async with services.db.transaction(readonly=not write) as conn:
                return await body(_Call(conn, installation, services))
        except ProtocolError as exc:
            raise ToolError(f"{exc.error}: {exc.description}") from exc

    async def listProjects(ctx: Context, organization: Organization = None) -> dict[str, Any]:
        """List the projects of the organization [projects:read]."""

        async def body(call: _Call) -> dict[str, Any]:
            found = await access.visible_projects(call.conn, call.installation)
            return {
                "organization": call.installation.organization_slug,
                "projects": [_project_json(p) for p in found],
            }

        return await run(ctx, "listProjects", organization, body, write=False)

    async def getProject(
        ctx: Context, project: ProjectRef, organization: Organization = None
    ) -> dict[str, Any]:
        """Get one project with its languages [projects:read]."""

        async def body(call: _Call) -> dict[str, Any]:
            return _project_json(await call.project(project))

        return await run(ctx, "getProject", organization, body, write=False)

    async def getTranslationContext(
        ctx: Context, project: ProjectRef, organization: Organization = None
    ) -> dict[str, Any]:
        """What a translator needs before writing: source and target languages [projects:read]."""

        async def body(call: _Call) -> dict[str, Any]:
            found = await call.project(project)
            return {
                "project": _project_json(found),
                "sourceLanguage": found.source_language,
                "targetLanguages": list(found.target_languages),
                "guidance": (
                    "Write drafts with setTranslations (one language) or updateKeys (several); "
                    "drafts go live only through publishTranslations."
                ),
            }

        return await run(ctx, "getTranslationContext", organization, body, write=False)

    async def listKeys(
        ctx: Context,
        project: ProjectRef,
        prefix: str | None = None,
        limit: Annotated[int, Field(ge=1, le=platform_keys.MAX_BATCH)] = 200,
        offset: Annotated[int, Field(ge=0)] = 0,
        organization: Organization = None,
    ) -> dict[str, Any]:
        """List translation keys by name, optionally under a prefix [keys:read]."""

        async def body(call: _Call) -> dict[str, Any]:
            found = await call.project(project)
            listed = await platform_keys.list_keys(
                call.conn, found.id, prefix=prefix, limit=limit, offset=offset
            )
            return {"keys": [{"name": k.name, "description": k.description} for k in listed]}

        return await run(ctx, "listKeys", organization, body, write=False)

    async def createKeys(
        ctx: Context, project: ProjectRef, keys: list[NewKey], organization: Organization = None
    ) -> dict[str, Any]:
        """Create translation keys [keys:write]."""

        async def body(call: _Call) -> dict[str, Any]:
            found = await call.project(project)
            created = await platform_keys.create_keys(
                call.conn,
                found.id,
                [(key.name, key.description) for key in keys],
                call.services.clock.now(),
            )
            return {"created": [key.name for key in created]}

        return await run(ctx, "createKeys", organization, body, write=True)

    async def deleteKeys(
        ctx: Context, project: ProjectRef, names: list[str], organization: Organization = None
    ) -> dict[str, Any]:
        """Delete translation keys and their translations [keys:write]; a key with published
        text also needs [translations:publish]."""

        async def body(call: _Call) -> dict[str, Any]:
            found = await call.project(project)
            may_unpublish = PUBLISH_TRANSLATIONS in call.installation.scopes
            deleted = await platform_keys.delete_keys(
                call.conn,
                found.id,
                names,
                may_unpublish=may_unpublish,
                now=call.services.clock.now(),
            )
            return {"deleted": deleted}

        return await run(ctx, "deleteKeys", organization, body, write=True)

    async def updateKeys(
        ctx: Context, project: ProjectRef, keys: list[KeyChange], organization: Organization = None
    ) -> dict[str, Any]:
        """Change key descriptions and draft translations [translations:write]."""

        async def body(call: _Call) -> dict[str, Any]:
            found = await call.project(project)
            changes = [platform_keys.KeyUpdate(k.name, k.description, k.translations) for k in keys]
            updated = await platform_keys.update_keys(
                call.conn, found.id, changes, call.services.clock.now()
            )
            return {"updated": [key.name for key in updated]}

        return await run(ctx, "updateKeys", organization, body, write=True)

    async def setTranslations(
        ctx: Context,
        project: ProjectRef,
        language: Language,
        translations: Annotated[dict[str, str], Field(description="Draft text by key name.")],
        organization: Organization = None,
    ) -> dict[str, Any]:
        """Write draft translations of one language [translations:write]."""

        async def body(call: _Call) -> dict[str, Any]:
            found = await call.project(project)
            written = await platform_translations.set_translations(
                call.conn, found.id, language, translations, call.services.clock.now()
            )
            return {"written": written}

        return await run(ctx, "setTranslations", organization, body, write=True)

    async def getTranslations(
        ctx: Context,
        project: ProjectRef,
        language: Language,
        keys: list[str] | None = None,
        organization: Organization = None,
    ) -> dict[str, Any]:
        """Read draft and published translations of one language [translations:read]."""

        async def body(call: _Call) -> dict[str, Any]:
            found = await call.project(project)
            rows = await platform_translations.get_translations(
                call.conn, found.id, language, keys=keys
            )
            return {
                "translations": [
                    {
                        k: v
                        for k, v in asdict(row).items()
                        if k in {"key", "language", "draft", "published"}
                    }
                    for row in rows
                ]
            }

        return await run(ctx, "getTranslations", organization, body, write=False)

    async def publishTranslations(
        ctx: Context,
        project: ProjectRef,
        languages: list[str] | None = None,
        organization: Organization = None,
    ) -> dict[str, Any]:
        """Publish changed drafts to live apps and the CDN [translations:publish]."""

        async def body(call: _Call) -> dict[str, Any]:
            found = await call.project(project)
            count = await platform_translations.publish_translations(
                call.conn, found.id, languages, call.services.clock.now()
            )
            return {"published": count}

        return await run(ctx, "publishTranslations", organization, body, write=True)

    for tool in (
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
    ):
        server.add_tool(tool, name=tool.__name__)
