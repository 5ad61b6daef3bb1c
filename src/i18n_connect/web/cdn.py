"""``GET /cdn/{org_slug}/{project_slug}/{language}.json``: the published translations of one
language as a flat JSON object (SPEC §4), public and cacheable (RFC 9110 §8.8.3, §13.1.2;
RFC 9111 §5.2.2).

Only published texts are ever served — drafts never leak. The ``ETag`` is a
hash of the exact body, so it changes exactly when a publish changes what is
served; ``If-None-Match`` with a current tag answers 304 without a body.
Responses may be cached for a minute by browsers and shared caches.
"""

from __future__ import annotations

import json

from fastapi import APIRouter, Request
from fastapi.responses import Response

from i18n_connect.errors import InvalidRequest, NotFound
from i18n_connect.platform.organizations import get_organization_by_slug
from i18n_connect.platform.projects import get_project_by_slug, normalize_language
from i18n_connect.platform.translations import published_translations
from i18n_connect.web.etags import etag_of, none_match
from i18n_connect.web.sessions import services_of

__all__ = ["router"]

router = APIRouter(tags=["cdn"])

CACHE_CONTROL = "public, max-age=60"


@router.head("/cdn/{org_slug}/{project_slug}/{language}.json", include_in_schema=False)
@router.get(
    "/cdn/{org_slug}/{project_slug}/{language}.json",
    response_class=Response,
    responses={
        200: {"content": {"application/json": {"schema": {"type": "object"}}}},
        304: {"description": "Not modified"},
        404: {"description": "No such organization, project or language"},
    },
    summary="Published translations of one language (public)",
)
async def published_language(
    request: Request, org_slug: str, project_slug: str, language: str
) -> Response:
    services = services_of(request)
    try:
        code = normalize_language(language)
    except InvalidRequest as exc:
        raise NotFound("No such language.") from exc
    async with services.db.transaction(readonly=True) as conn:
        organization = await get_organization_by_slug(conn, org_slug)
        project = (
            await get_project_by_slug(conn, organization.id, project_slug)
            if organization is not None
            else None
        )
        if project is None or code not in project.languages:
            raise NotFound("No such organization, project or language.")
        texts = await published_translations(conn, project.id, code)
    body = json.dumps(texts, ensure_ascii=False, sort_keys=True, separators=(",", ":")).encode()
    etag = etag_of(body)
    headers = {
        "ETag": etag,
        "Cache-Control": CACHE_CONTROL,
        "Access-Control-Allow-Origin": "*",
        "Vary": "Accept-Encoding",
    }
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type="application/json", headers=headers)
