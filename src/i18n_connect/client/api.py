"""Typed calls of the partner REST API (SPEC §4, ``/api/oauth-client``) with an installation token.

Each helper maps one route and returns the server's JSON as a ``TypedDict``;
errors arrive as the typed exceptions of ``i18n_connect.client.errors``. The
token is a string or an async callable returning one (for example
``InstallationTokenCache.get`` bound to a grant), asked once per call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypedDict, cast
from urllib.parse import quote

from i18n_connect.client.transport import Requester

__all__ = [
    "ContentEntry",
    "ContentModel",
    "GlossaryTerm",
    "Organization",
    "PartnerAPI",
    "Project",
    "TokenSource",
    "TranslationKey",
    "TranslationValue",
]

TokenSource = str | Callable[[], Awaitable[str]]
API = "/api/oauth-client"


class Organization(TypedDict):
    id: str
    slug: str
    name: str


class Project(TypedDict):
    id: str
    organization_id: str
    slug: str
    name: str
    source_language: str
    languages: list[str]


class TranslationKey(TypedDict):
    id: str
    name: str
    description: str


class TranslationValue(TypedDict):
    key: str
    language: str
    draft: str | None
    published: str | None


class GlossaryTerm(TypedDict):
    id: str
    term: str
    description: str
    translations: dict[str, str]


class ContentModel(TypedDict):
    id: str
    slug: str
    name: str
    fields: list[dict[str, Any]]


class ContentEntry(TypedDict):
    id: str
    model_slug: str
    slug: str
    draft: dict[str, Any]
    published: dict[str, Any] | None


def _q(value: str) -> str:
    return quote(value, safe="")


def _items(data: Any, name: str) -> list[Any]:
    """A list answer, bare or wrapped as ``{name: [...]}``."""
    if isinstance(data, dict):
        data = data.get(name, [])
    return list(data) if isinstance(data, list) else []


class PartnerAPI:
    """The partner API of one organization, called with one installation token source."""

    def __init__(self, requester: Requester, token: TokenSource) -> None:
        self._requester = requester
        self._token = token

    async def _call(self, method: str, path: str, body: Any = None) -> Any:
        token = self._token if isinstance(self._token, str) else await self._token()
        response = await self._requester.request(method, API + path, bearer=token, json=body)
        if response.status_code == 204 or not response.content:
            return None
        return response.json()

    # organizations and projects

    async def organizations(self) -> list[Organization]:
        """``GET /organizations`` [org:read]: the token's organization."""
        return cast(
            list[Organization], _items(await self._call("GET", "/organizations"), "organizations")
        )

    async def projects(self, organization_id: str) -> list[Project]:
        """``GET /organizations/{org_id}/projects`` [projects:read]."""
        data = await self._call("GET", f"/organizations/{_q(organization_id)}/projects")
        return cast(list[Project], _items(data, "projects"))

    async def create_project(self, name: str, slug: str, source_language: str) -> Project:
        """``POST /v1/projects`` [projects:write] → the new project."""
        body = {"name": name, "slug": slug, "sourceLanguage": source_language}
        return cast(Project, await self._call("POST", "/v1/projects", body))

    async def project(self, project_id: str) -> Project:
        """``GET /v1/projects/{project_id}`` [projects:read]."""
        return cast(Project, await self._call("GET", f"/v1/projects/{_q(project_id)}"))

    async def add_language(self, project_id: str, code: str) -> Project:
        """``POST /v1/projects/{project_id}/languages`` [projects:write]."""
        path = f"/v1/projects/{_q(project_id)}/languages"
        return cast(Project, await self._call("POST", path, {"code": code}))

    # keys

    async def keys(self, project_id: str) -> list[TranslationKey]:
        """``GET /v1/projects/{project_id}/keys`` [keys:read]."""
        data = await self._call("GET", f"/v1/projects/{_q(project_id)}/keys")
        return cast(list[TranslationKey], _items(data, "keys"))

    async def create_keys(
        self, project_id: str, keys: Sequence[Mapping[str, Any]]
    ) -> list[TranslationKey]:
        """``POST /v1/projects/{project_id}/keys`` [keys:write]: ``[{"name", "description"}]``."""
        data = await self._call("POST", f"/v1/projects/{_q(project_id)}/keys", {"keys": list(keys)})
        return cast(list[TranslationKey], _items(data, "keys"))

    async def update_keys(
        self, project_id: str, keys: Sequence[Mapping[str, Any]]
    ) -> list[TranslationKey]:
        """``PATCH /v1/projects/{project_id}/keys`` [translations:write]."""
        path = f"/v1/projects/{_q(project_id)}/keys"
        data = await self._call("PATCH", path, {"keys": list(keys)})
        return cast(list[TranslationKey], _items(data, "keys"))

    async def delete_keys(self, project_id: str, names: Sequence[str]) -> list[str]:
        """``POST /v1/projects/{project_id}/keys/delete`` [keys:write] → the deleted names."""
        path = f"/v1/projects/{_q(project_id)}/keys/delete"
        data = await self._call("POST", path, {"names": list(names)})
        return [str(name) for name in _items(data, "deleted")]

    # translations and publishing

    async def translations(self, project_id: str, language: str) -> list[TranslationValue]:
        """``GET /v1/projects/{project_id}/translations/{language}`` [translations:read]."""
        path = f"/v1/projects/{_q(project_id)}/translations/{_q(language)}"
        return cast(list[TranslationValue], _items(await self._call("GET", path), "translations"))

    async def set_translations(
        self, project_id: str, language: str, values: Mapping[str, str]
    ) -> list[TranslationValue]:
        """``PUT …/translations/{language}`` [translations:write]: saves drafts."""
        path = f"/v1/projects/{_q(project_id)}/translations/{_q(language)}"
        data = await self._call("PUT", path, {"translations": dict(values)})
        return cast(list[TranslationValue], _items(data, "translations"))

    async def publish(self, project_id: str, languages: Sequence[str] | None = None) -> Any:
        """``POST /v1/projects/{project_id}/publish`` [translations:publish]."""
        body = {} if languages is None else {"languages": list(languages)}
        return await self._call("POST", f"/v1/projects/{_q(project_id)}/publish", body)

    # glossary

    async def glossary(self, project_id: str) -> list[GlossaryTerm]:
        """``GET /v1/projects/{project_id}/glossary`` [glossary:read]."""
        data = await self._call("GET", f"/v1/projects/{_q(project_id)}/glossary")
        return cast(list[GlossaryTerm], _items(data, "terms"))

    async def save_glossary(
        self, project_id: str, terms: Sequence[Mapping[str, Any]]
    ) -> list[GlossaryTerm]:
        """``PUT /v1/projects/{project_id}/glossary`` [glossary:write]."""
        path = f"/v1/projects/{_q(project_id)}/glossary"
        data = await self._call("PUT", path, {"terms": list(terms)})
        return cast(list[GlossaryTerm], _items(data, "terms"))

    # content

    async def content_models(self, organization_slug: str, project_slug: str) -> list[ContentModel]:
        """``GET /organizations/{org_slug}/projects/{project_slug}/models`` [content:read]."""
        path = f"/organizations/{_q(organization_slug)}/projects/{_q(project_slug)}/models"
        return cast(list[ContentModel], _items(await self._call("GET", path), "models"))

    async def content_entries(self, project_id: str, model_slug: str) -> list[ContentEntry]:
        """``GET /v1/projects/{project_id}/content/{model}/entries`` [content:read]."""
        path = f"/v1/projects/{_q(project_id)}/content/{_q(model_slug)}/entries"
        return cast(list[ContentEntry], _items(await self._call("GET", path), "entries"))

    async def save_content_entry(
        self, project_id: str, model_slug: str, entry_slug: str, draft: Mapping[str, Any]
    ) -> ContentEntry:
        """``PUT …/content/{model}/entries/{entry}`` [content:write]: saves a draft."""
        path = f"/v1/projects/{_q(project_id)}/content/{_q(model_slug)}/entries/{_q(entry_slug)}"
        return cast(ContentEntry, await self._call("PUT", path, {"draft": dict(draft)}))

    async def publish_content(self, project_id: str, model_slug: str, slugs: Sequence[str]) -> Any:
        """``POST …/content/{model}/publish`` [content:publish]."""
        path = f"/v1/projects/{_q(project_id)}/content/{_q(model_slug)}/publish"
        return await self._call("POST", path, {"slugs": list(slugs)})
