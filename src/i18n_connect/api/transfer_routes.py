"""Import and export of translation files over the partner API (partner guide, "Import and
export").

``GET …/export`` renders one language in a file format (`i18n_connect.formats`)
with a strong ``ETag`` (``If-None-Match`` → 304). ``POST …/import`` takes the
file as the raw body or as the multipart part ``file``, at most
``I18N_CONNECT_MAX_IMPORT_BYTES`` (a request without an installation token is
refused before its body is read): it is read and parsed, off the event loop,
before the request's transaction opens, then written as drafts in that one transaction — a
malformed file (422 ``malformed_file`` with its line and column) or a bad text
(422 ``invalid_translation``) writes nothing.
"""

from __future__ import annotations

from typing import Annotated, Literal

import anyio
from fastapi import APIRouter, Depends, Path, Query, Request, Response
from starlette.datastructures import UploadFile

from i18n_connect import access
from i18n_connect.api.auth import (
    Caller,
    installation_call,
    installation_caller,
    presented_token,
    token_security,
)
from i18n_connect.api.models import ErrorBody, ImportOut
from i18n_connect.api.resource_routes import ERRORS
from i18n_connect.errors import InvalidRequest
from i18n_connect.formats import FORMATS, FormatName, Options, get_format
from i18n_connect.platform import transfer
from i18n_connect.platform.keys import DEFAULT_NAMESPACE, check_namespace
from i18n_connect.platform.projects import normalize_language
from i18n_connect.web.etags import etag_of, none_match

__all__ = ["router"]

router = APIRouter(prefix="/api/oauth-client/v1/projects/{project_id}", tags=["translations"])

TranslationsRead = Annotated[
    Caller, Depends(installation_caller("translations:read"), scope="function")
]
Id = Annotated[str, Path(max_length=64)]
LanguageQuery = Annotated[str, Query(max_length=35, description="A language of the project.")]
FormatQuery = Annotated[FormatName, Query(description="The file format.")]
Separator = Annotated[
    str,
    Query(
        min_length=1,
        max_length=4,
        description="Between the levels of nested JSON and YAML keys.",
    ),
]
NamespaceQuery = Annotated[
    str | None, Query(max_length=64, description="Only the keys of this namespace.")
]
FILE_ERRORS: dict[int | str, dict[str, object]] = {
    **ERRORS,
    413: {"model": ErrorBody},
    422: {"model": ErrorBody, "description": "malformed_file or invalid_translation"},
}


@router.get(
    "/export",
    response_class=Response,
    responses={
        **ERRORS,
        200: {"content": {media: {} for media in sorted({f.media_type for f in FORMATS.values()})}},
        304: {"description": "Not modified"},
    },
)
async def export_translations(
    request: Request,
    caller: TranslationsRead,
    project_id: Id,
    language: LanguageQuery,
    format: FormatQuery = "json",
    state: Literal["draft", "published"] = "draft",
    separator: Separator = ".",
    namespace: NamespaceQuery = None,
) -> Response:
    """One language of the project as a file: every key, its draft (or published) text, its
    description and, where the format has one, the source text."""
    project = await access.project_by_id(caller.conn, caller.context, project_id)
    entries = await transfer.export_entries(
        caller.conn, project, language, state=state, namespace=namespace
    )
    fmt = get_format(format)
    options = Options(
        language=transfer.project_language(project, language),
        source_language=project.source_language,
        separator=separator,
    )
    body = fmt.render(entries, options)
    etag = etag_of(body)
    headers = {
        "ETag": etag,
        "Cache-Control": "private, no-cache",
        "Content-Disposition": (
            f'attachment; filename="{project.slug}.{options.language}.{fmt.extension}"'
        ),
    }
    if none_match(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=fmt.media_type, headers=headers)


async def _file(request: Request) -> bytes:
    """The uploaded file: the multipart part ``file``, or else the whole body."""
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        async with request.form(max_files=1, max_fields=4) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise InvalidRequest("give the file as the multipart part 'file'")
            return await upload.read()
    chunks = [chunk async for chunk in request.stream()]
    return b"".join(chunks)


@router.post(
    "/import",
    response_model=ImportOut,
    responses=FILE_ERRORS,
    dependencies=[Depends(token_security)],
    openapi_extra={
        "requestBody": {
            "content": {
                "application/octet-stream": {"schema": {"type": "string", "format": "binary"}},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
            }
        }
    },
)
async def import_translations(
    request: Request,
    project_id: Id,
    language: LanguageQuery,
    format: FormatQuery,
    mode: Literal["merge", "replace-drafts"] = "merge",
    separator: Separator = ".",
    namespace: Annotated[
        str, Query(max_length=64, description="The namespace of the keys it creates.")
    ] = DEFAULT_NAMESPACE,
) -> ImportOut:
    """Write a file's texts of one language as drafts (never published). Needs
    translations:write, and keys:write when the file names keys the project lacks."""
    token = presented_token(request)
    data = await _file(request)
    code = normalize_language(language)
    check_namespace(namespace)
    options = Options(language=code, source_language="", separator=separator)
    parsed = await anyio.to_thread.run_sync(get_format(format).parse, data, options)
    del data
    async with installation_call(request, "translations:write", write=True, token=token) as caller:
        project = await access.project_by_id(caller.conn, caller.context, project_id)
        report = await transfer.import_entries(
            caller.conn,
            project,
            code,
            parsed,
            mode=mode,
            may_create_keys="keys:write" in caller.context.scopes,
            now=caller.now,
            namespace=namespace,
        )
    return ImportOut.of(code, format, mode, report)
