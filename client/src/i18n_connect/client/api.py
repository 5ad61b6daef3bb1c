"""Typed calls of the partner REST API (``/api/oauth-client``) with an installation token.

Each helper maps one route and returns the server's JSON as a ``TypedDict``
(timestamps stay ISO 8601 strings); errors arrive as the typed exceptions of
``i18n_connect.client.errors``. The token is a string or an async callable
returning one, asked once per call.

Lists come a page at a time (``limit``, ``cursor``, ``next_cursor``). The helpers that
return a list (``projects``, ``glossary``, …) follow ``next_cursor`` to the end; the
``iter_…`` helpers yield the items as the pages arrive (``async for key in
api.iter_keys(project_id)``), asking for the next page only when the previous one is used
up; ``keys_page`` is one page with its ``next_cursor``.

Every write takes ``idempotency_key``: sent as ``Idempotency-Key``, it makes the
write safe to send again (after a timeout or a dropped connection) — the server
answers a repeat with the first answer and changes nothing. Keep the key with the
work it stands for (a UUID per logical write) and send the same key with the same
arguments on every retry; a different write with a used key is
``IdempotencyKeyReused``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from typing import Any, TypedDict, TypeVar, cast
from urllib.parse import quote

from i18n_connect.client.transport import Requester

__all__ = [
    "ContentEntry",
    "ContentModel",
    "GlossaryTerm",
    "KeyInput",
    "KeyUpdate",
    "KeysPage",
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
T = TypeVar("T")


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


class KeysPage(TypedDict):
    keys: list[TranslationKey]
    next_cursor: str | None  # pass as cursor for the next page; None on the last page


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

    async def _pages(
        self, path: str, params: Mapping[str, str], page_size: int | None
    ) -> AsyncIterator[dict[str, Any]]:
        """Each page of a list, following ``next_cursor`` until it is null (or absent, as
        from a server that does not page that list)."""
        query = dict(params)
        if page_size is not None:
            query["limit"] = str(page_size)
        while True:
            data = await self._call("GET", path, params=query or None)
            yield data
            cursor = data.get("next_cursor")
            if not cursor:
                return
            query["cursor"] = cursor

    async def _items(
        self,
        path: str,
        field: str,
        _kind: type[T],
        *,
        params: Mapping[str, str] | None = None,
        page_size: int | None = None,
    ) -> AsyncIterator[T]:
        async for data in self._pages(path, params or {}, page_size):
            for item in data[field]:
                yield cast(T, item)

    async def _all(self, items: AsyncIterator[T]) -> list[T]:
        return [item async for item in items]

    # organizations and projects

    async def organizations(self) -> list[Organization]:
        """``GET /organizations`` [org:read]: the token's organization."""
        return await self._all(self._items("/organizations", "organizations", Organization))

    async def projects(self, organization_id: str) -> list[Project]:
        """``GET /organizations/{org_id}/projects`` [projects:read]: every project it may see
        (all pages)."""
        return await self._all(self.iter_projects(organization_id))

    def iter_projects(
        self, organization_id: str, *, page_size: int | None = None
    ) -> AsyncIterator[Project]:
        """The projects the token may see, by name, a page (``page_size``) at a time."""
        path = f"/organizations/{_q(organization_id)}/projects"
        return self._items(path, "projects", Project, page_size=page_size)

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
        """``GET /organizations/{org_slug}/projects/{project_slug}/models`` [content:read]
        (all pages)."""
        return await self._all(self.iter_content_models(organization_slug, project_slug))

    def iter_content_models(
        self, organization_slug: str, project_slug: str, *, page_size: int | None = None
    ) -> AsyncIterator[ContentModel]:
        """A project's content models, by slug, a page at a time."""
        path = f"/organizations/{_q(organization_slug)}/projects/{_q(project_slug)}/models"
        return self._items(path, "models", ContentModel, page_size=page_size)

    # keys

    async def keys(
        self, project_id: str, *, prefix: str | None = None, limit: int = 1000, offset: int = 0
    ) -> list[TranslationKey]:
        """``GET …/keys`` [keys:read], by name: one page (see `keys_page`, `iter_keys`)."""
        params = {"limit": str(limit), "offset": str(offset)}
        if prefix is not None:
            params["prefix"] = prefix
        data = await self._call("GET", self._project(project_id) + "/keys", params=params)
        return cast(list[TranslationKey], data["keys"])

    async def keys_page(
        self,
        project_id: str,
        *,
        prefix: str | None = None,
        limit: int = 1000,
        cursor: str | None = None,
    ) -> KeysPage:
        """``GET …/keys`` [keys:read]: the page after ``cursor`` (the ``next_cursor`` of the
        previous page; none for the first) and its own ``next_cursor``."""
        params = {"limit": str(limit)}
        if prefix is not None:
            params["prefix"] = prefix
        if cursor is not None:
            params["cursor"] = cursor
        data = await self._call("GET", self._project(project_id) + "/keys", params=params)
        return KeysPage(
            keys=cast(list[TranslationKey], data["keys"]), next_cursor=data.get("next_cursor")
        )

    def iter_keys(
        self, project_id: str, *, prefix: str | None = None, page_size: int | None = None
    ) -> AsyncIterator[TranslationKey]:
        """Every key (under ``prefix``, if given), by name, a page at a time; keys added
        meanwhile never make it skip or repeat one."""
        params = {} if prefix is None else {"prefix": prefix}
        path = self._project(project_id) + "/keys"
        return self._items(path, "keys", TranslationKey, params=params, page_size=page_size)

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
        """``GET …/translations/{language}`` [translations:read]: drafts and published texts
        (all pages)."""
        path = f"{self._project(project_id)}/translations/{_q(language)}"
        pages = [page async for page in self._pages(path, {}, None)]
        texts = [text for page in pages for text in page["translations"]]
        return Translations(language=pages[0]["language"], translations=texts)

    def iter_translations(
        self, project_id: str, language: str, *, page_size: int | None = None
    ) -> AsyncIterator[TranslationValue]:
        """The texts of one language, by key name, a page at a time."""
        path = f"{self._project(project_id)}/translations/{_q(language)}"
        return self._items(path, "translations", TranslationValue, page_size=page_size)

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
        """``GET …/glossary`` [glossary:read] (all pages)."""
        return await self._all(self.iter_glossary(project_id))

    def iter_glossary(
        self, project_id: str, *, page_size: int | None = None
    ) -> AsyncIterator[GlossaryTerm]:
        """The glossary's terms, by term, a page at a time."""
        path = self._project(project_id) + "/glossary"
        return self._items(path, "terms", GlossaryTerm, page_size=page_size)

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
        """``GET …/models/{model}/entries`` [content:read] (all pages)."""
        return await self._all(self.iter_content_entries(project_id, model_slug))

    def iter_content_entries(
        self, project_id: str, model_slug: str, *, page_size: int | None = None
    ) -> AsyncIterator[ContentEntry]:
        """A content model's entries, by slug, a page at a time."""
        path = f"{self._project(project_id)}/models/{_q(model_slug)}/entries"
        return self._items(path, "entries", ContentEntry, page_size=page_size)

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
