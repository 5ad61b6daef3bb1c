"""The public CDN of published translations (SPEC §4, partner guide "CDN"), cacheable by
browsers and shared caches (RFC 9110 §8.8.3, §13.1.2; RFC 9111 §5.2.2; RFC 8246).

- ``/cdn/{org}/{project}/manifest.json`` lists the project's languages and
  namespaces and, for each file, its version (the hash of its flat body), the
  time of its last publish and its versioned URL.
- ``/cdn/{org}/{project}/{namespace}/{language}.json`` is one namespace of one
  language, flat or, with ``?format=nested``, nested at dots. With ``?v=`` set to
  the current version it is ``immutable`` for a year; a version no longer
  current is 404, never other bytes under the same URL.
- ``/cdn/{org}/{project}/{language}.json`` (the first CDN URL) is every
  namespace of the language, flat.

Only published texts are ever served — drafts never leak. Each ``ETag`` is a
hash of the exact body; ``If-None-Match`` with a current tag answers 304.
Unversioned responses may be cached for a minute.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import InvalidRequest, NotFound
from i18n_connect.formats import Entry
from i18n_connect.formats.model import nest
from i18n_connect.platform.organizations import get_organization_by_slug
from i18n_connect.platform.projects import Project, get_project_by_slug, normalize_language
from i18n_connect.platform.translations import published_files, published_translations
from i18n_connect.web.etags import etag_of, none_match
from i18n_connect.web.sessions import services_of

__all__ = ["router"]

router = APIRouter(tags=["cdn"])

CACHE_CONTROL = "public, max-age=60"
IMMUTABLE = "public, max-age=31536000, immutable"
_NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {"schema": {"type": "object"}}}},
    304: {"description": "Not modified"},
    404: {"description": "No such organization, project, namespace, language or version"},
}


def _body(value: object) -> bytes:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()


def _version(texts: dict[str, str]) -> str:
    return etag_of(_body(texts)).strip('"')


def _answer(request: Request, body: bytes, cache_control: str) -> Response:
    etag = etag_of(body)
    headers = {
        "ETag": etag,
        "Cache-Control": cache_control,
        "Access-Control-Allow-Origin": "*",
        "Vary": "Accept-Encoding",
    }
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)


async def _project(conn: AsyncConnection, org_slug: str, project_slug: str) -> Project:
    organization = await get_organization_by_slug(conn, org_slug)
    project = (
        await get_project_by_slug(conn, organization.id, project_slug)
        if organization is not None
        else None
    )
    if project is None:
        raise NotFound("No such organization, project or language.")
    return project


def _language(project: Project, language: str) -> str:
    try:
        code = normalize_language(language)
    except InvalidRequest as exc:
        raise NotFound("No such language.") from exc
    if code not in project.languages:
        raise NotFound("No such organization, project or language.")
    return code


@router.head("/cdn/{org_slug}/{project_slug}/manifest.json", include_in_schema=False)
@router.get(
    "/cdn/{org_slug}/{project_slug}/manifest.json",
    response_class=Response,
    responses=_NOT_MODIFIED,
    summary="The languages, namespaces and file versions of a project (public)",
)
async def manifest(request: Request, org_slug: str, project_slug: str) -> Response:
    async with services_of(request).db.transaction(readonly=True) as conn:
        project = await _project(conn, org_slug, project_slug)
        files = await published_files(conn, project.id, project.languages)
    base = f"/cdn/{org_slug}/{project_slug}"
    listed = []
    for (namespace, language), file in files.items():
        version = _version(file.texts)
        published_at = file.published_at.isoformat() if file.published_at else None
        listed.append(
            {
                "namespace": namespace,
                "language": language,
                "version": version,
                "keys": len(file.texts),
                "published_at": published_at,
                "url": f"{base}/{namespace}/{language}.json?v={version}",
            }
        )
    document = {
        "source_language": project.source_language,
        "languages": list(project.languages),
        "namespaces": sorted({namespace for namespace, _ in files}),
        "files": listed,
    }
    return _answer(request, _body(document), CACHE_CONTROL)


@router.head("/cdn/{org_slug}/{project_slug}/{namespace}/{language}.json", include_in_schema=False)
@router.get(
    "/cdn/{org_slug}/{project_slug}/{namespace}/{language}.json",
    response_class=Response,
    responses=_NOT_MODIFIED,
    summary="Published translations of one namespace in one language (public)",
)
async def published_namespace(
    request: Request,
    org_slug: str,
    project_slug: str,
    namespace: str,
    language: str,
    format: Literal["flat", "nested"] = "flat",
    v: str | None = Query(None, max_length=64, description="A version from the manifest."),
) -> Response:
    async with services_of(request).db.transaction(readonly=True) as conn:
        project = await _project(conn, org_slug, project_slug)
        code = _language(project, language)
        texts = await published_translations(conn, project.id, code, namespace=namespace)
    if v is not None and v != _version(texts):
        raise NotFound("That version is no longer published; read the manifest again.")
    if format == "nested":
        try:
            value: object = nest([Entry(k, t) for k, t in texts.items()], ".", str)
        except InvalidRequest as exc:
            raise NotFound("This file cannot be nested; use the flat format.") from exc
    else:
        value = texts
    return _answer(request, _body(value), IMMUTABLE if v is not None else CACHE_CONTROL)


@router.head("/cdn/{org_slug}/{project_slug}/{language}.json", include_in_schema=False)
@router.get(
    "/cdn/{org_slug}/{project_slug}/{language}.json",
    response_class=Response,
    responses=_NOT_MODIFIED,
    summary="Published translations of one language, every namespace (public)",
)
async def published_language(
    request: Request, org_slug: str, project_slug: str, language: str
) -> Response:
    async with services_of(request).db.transaction(readonly=True) as conn:
        project = await _project(conn, org_slug, project_slug)
        code = _language(project, language)
        texts = await published_translations(conn, project.id, code)
    return _answer(request, _body(texts), CACHE_CONTROL)
