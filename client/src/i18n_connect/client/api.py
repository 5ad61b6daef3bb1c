"""Typed calls of the partner REST API (``/api/oauth-client``) with an installation token.

Each helper maps one route and returns the server's JSON as a ``TypedDict``
(timestamps stay ISO 8601 strings); errors arrive as the typed exceptions of
``i18n_connect.client.errors``. The token is a string or an async callable
returning one, asked once per call.

Every write takes ``idempotency_key``: sent as ``Idempotency-Key``, it makes the
write safe to send again (after a timeout or a dropped connection) — the server
answers a repeat with the first answer and changes nothing. Keep the key with the
work it stands for (a UUID per logical write) and send the same key with the same
arguments on every retry; a different write with a used key is
``IdempotencyKeyReused``.
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
    "KeyInput",
    "KeyUpdate",
    "Organization",
    "PartnerAPI",
    "Project",
    "TermInput",
    "TokenSource",
    "TranslationKey",
    "TranslationValue",
    "Translations",
    "Written",
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
    languages: list[str]  # the source language first
    created_at: str


class TranslationKey(TypedDict):
    name: str
    description: str
    created_at: str
    updated_at: str


class KeyInput(TypedDict, total=False):
    name: str  # required
    description: str


class KeyUpdate(TypedDict, total=False):
    name: str  # required
    description: str
    translations: dict[str, str]  # draft text by language


class TranslationValue(TypedDict):
    key: str
    draft: str | None
    published: str | None
    updated_at: str
    published_at: str | None


class Translations(TypedDict):
    language: str
    translations: list[TranslationValue]


class Written(TypedDict):
    language: str
    written: int


class GlossaryTerm(TypedDict):
    term: str
    description: str
    translations: dict[str, str]
    created_at: str
    updated_at: str


class TermInput(TypedDict, total=False):
    term: str  # required
    description: str
    translations: dict[str, str]


class ContentModel(TypedDict):
    slug: str
    name: str
    fields: list[dict[str, Any]]
    created_at: str


class ContentEntry(TypedDict):
    model: str
    slug: str
    draft: dict[str, Any]
    published: dict[str, Any] | None
    updated_at: str
    published_at: str | None


def _q(value: str) -> str:
    return quote(value, safe="")


class PartnerAPI:
    """The partner API of one organization, called with one installation-token source."""

    def __init__(self, requester: Requester, token: TokenSource) -> None:
        self._requester = requester
        self._token = token

    async def _call(
        self,
        method: str,
        path: str,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> Any:
        token = self._token if isinstance(self._token, str) else await self._token()
        response = await self._requester.request(
            method,
            API + path,
            bearer=token,
            json=body,
            params=params,
            idempotency_key=idempotency_key,
        )
        return response.json() if response.content else None

    @staticmethod
    def _project(project_id: str) -> str:
        return f"/v1/projects/{_q(project_id)}"

    # organizations and projects

    async def organizations(self) -> list[Organization]:
        """``GET /organizations`` [org:read]: the token's organization."""
        data = await self._call("GET", "/organizations")
        return cast(list[Organization], data["organizations"])

    async def projects(self, organization_id: str) -> list[Project]:
        """``GET /organizations/{org_id}/projects`` [projects:read]: the projects it may see."""
        data = await self._call("GET", f"/organizations/{_q(organization_id)}/projects")
        return cast(list[Project], data["projects"])

    async def create_project(
        self, name: str, slug: str, source_language: str, *, idempotency_key: str | None = None
    ) -> Project:
        """``POST /v1/projects`` [projects:write]."""
        body = {"name": name, "slug": slug, "source_language": source_language}
        return cast(
            Project, await self._call("POST", "/v1/projects", body, idempotency_key=idempotency_key)
        )

    async def project(self, project_id: str) -> Project:
        """``GET /v1/projects/{project_id}`` [projects:read]."""
        return cast(Project, await self._call("GET", self._project(project_id)))

    async def add_language(
        self, project_id: str, code: str, *, idempotency_key: str | None = None
    ) -> Project:
        """``POST /v1/projects/{project_id}/languages`` [projects:write]."""
        path = self._project(project_id) + "/languages"
        return cast(
            Project, await self._call("POST", path, {"code": code}, idempotency_key=idempotency_key)
        )

    async def content_models(self, organization_slug: str, project_slug: str) -> list[ContentModel]:
        """``GET /organizations/{org_slug}/projects/{project_slug}/models`` [content:read]."""
        path = f"/organizations/{_q(organization_slug)}/projects/{_q(project_slug)}/models"
        return cast(list[ContentModel], (await self._call("GET", path))["models"])

    # keys

    async def keys(
        self, project_id: str, *, prefix: str | None = None, limit: int = 1000, offset: int = 0
    ) -> list[TranslationKey]:
        """``GET …/keys`` [keys:read], by name, a page at a time."""
        params = {"limit": str(limit), "offset": str(offset)}
        if prefix is not None:
            params["prefix"] = prefix
        data = await self._call("GET", self._project(project_id) + "/keys", params=params)
        return cast(list[TranslationKey], data["keys"])

    async def create_keys(
        self, project_id: str, keys: Sequence[KeyInput], *, idempotency_key: str | None = None
    ) -> list[TranslationKey]:
        """``POST …/keys`` [keys:write]; an existing name is a ``Conflict``."""
        data = await self._call(
            "POST",
            self._project(project_id) + "/keys",
            {"keys": list(keys)},
            idempotency_key=idempotency_key,
        )
        return cast(list[TranslationKey], data["keys"])

    async def update_keys(
        self,
        project_id: str,
        updates: Sequence[KeyUpdate],
        *,
        idempotency_key: str | None = None,
    ) -> list[TranslationKey]:
        """``PATCH …/keys`` [translations:write]: descriptions and draft translations."""
        path = self._project(project_id) + "/keys"
        data = await self._call(
            "PATCH", path, {"keys": list(updates)}, idempotency_key=idempotency_key
        )
        return cast(list[TranslationKey], data["keys"])

    async def delete_keys(
        self, project_id: str, names: Sequence[str], *, idempotency_key: str | None = None
    ) -> list[str]:
        """``POST …/keys/delete`` [keys:write]: the names deleted."""
        path = self._project(project_id) + "/keys/delete"
        data = await self._call(
            "POST", path, {"names": list(names)}, idempotency_key=idempotency_key
        )
        return [str(name) for name in data["deleted"]]

    # translations and publishing

    async def translations(self, project_id: str, language: str) -> Translations:
        """``GET …/translations/{language}`` [translations:read]: drafts and published texts."""
        path = f"{self._project(project_id)}/translations/{_q(language)}"
        return cast(Translations, await self._call("GET", path))

    async def set_translations(
        self,
        project_id: str,
        language: str,
        texts: Mapping[str, str],
        *,
        idempotency_key: str | None = None,
    ) -> Written:
        """``PUT …/translations/{language}`` [translations:write]: drafts by key name."""
        path = f"{self._project(project_id)}/translations/{_q(language)}"
        return cast(
            Written,
            await self._call(
                "PUT", path, {"translations": dict(texts)}, idempotency_key=idempotency_key
            ),
        )

    async def publish(
        self,
        project_id: str,
        languages: Sequence[str] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> int:
        """``POST …/publish`` [translations:publish]: how many translations went live."""
        body = {} if languages is None else {"languages": list(languages)}
        data = await self._call(
            "POST", self._project(project_id) + "/publish", body, idempotency_key=idempotency_key
        )
        return int(data["published"])

    # glossary

    async def glossary(self, project_id: str) -> list[GlossaryTerm]:
        """``GET …/glossary`` [glossary:read]."""
        data = await self._call("GET", self._project(project_id) + "/glossary")
        return cast(list[GlossaryTerm], data["terms"])

    async def save_glossary(
        self, project_id: str, terms: Sequence[TermInput], *, idempotency_key: str | None = None
    ) -> list[GlossaryTerm]:
        """``PUT …/glossary`` [glossary:write]: create or replace terms by name."""
        path = self._project(project_id) + "/glossary"
        data = await self._call(
            "PUT", path, {"terms": list(terms)}, idempotency_key=idempotency_key
        )
        return cast(list[GlossaryTerm], data["terms"])

    async def delete_glossary_terms(
        self, project_id: str, terms: Sequence[str], *, idempotency_key: str | None = None
    ) -> list[str]:
        """``POST …/glossary/delete`` [glossary:write]: the terms deleted."""
        path = self._project(project_id) + "/glossary/delete"
        data = await self._call(
            "POST", path, {"terms": list(terms)}, idempotency_key=idempotency_key
        )
        return [str(term) for term in data["deleted"]]

    # content entries

    async def content_entries(self, project_id: str, model_slug: str) -> list[ContentEntry]:
        """``GET …/models/{model}/entries`` [content:read]."""
        path = f"{self._project(project_id)}/models/{_q(model_slug)}/entries"
        return cast(list[ContentEntry], (await self._call("GET", path))["entries"])

    async def content_entry(
        self, project_id: str, model_slug: str, entry_slug: str
    ) -> ContentEntry:
        """``GET …/models/{model}/entries/{entry}`` [content:read]."""
        path = f"{self._project(project_id)}/models/{_q(model_slug)}/entries/{_q(entry_slug)}"
        return cast(ContentEntry, await self._call("GET", path))

    async def save_content_entry(
        self,
        project_id: str,
        model_slug: str,
        entry_slug: str,
        data: Mapping[str, Any],
        *,
        idempotency_key: str | None = None,
    ) -> ContentEntry:
        """``PUT …/models/{model}/entries/{entry}`` [content:write]: create or change a draft."""
        path = f"{self._project(project_id)}/models/{_q(model_slug)}/entries/{_q(entry_slug)}"
        return cast(
            ContentEntry,
            await self._call("PUT", path, {"data": dict(data)}, idempotency_key=idempotency_key),
        )

    async def publish_content(
        self,
        project_id: str,
        model_slug: str,
        entries: Sequence[str] | None = None,
        *,
        idempotency_key: str | None = None,
    ) -> list[str]:
        """``POST …/models/{model}/publish`` [content:publish]: the entry slugs published."""
        path = f"{self._project(project_id)}/models/{_q(model_slug)}/publish"
        body = {} if entries is None else {"entries": list(entries)}
        data = await self._call("POST", path, body, idempotency_key=idempotency_key)
        return [str(slug) for slug in data["published"]]
