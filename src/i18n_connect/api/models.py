"""Request and response bodies of the partner API, so `/openapi.json` documents every route;
the MCP tools take the same items and answer the same bodies (`i18n_connect.mcp`).

Every field is named in snake_case, in REST and MCP alike (docs/decisions.md). Request
bodies refuse unknown fields (a typo is a 400, not a silent no-op). Most response bodies
show one domain object field by field under the same names (`_View.of`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

from i18n_connect.platform.content import ContentEntry
from i18n_connect.platform.transfer import ImportReport

NEXT_CURSOR = (
    "Pass as cursor for the next page; null on the last page (and in the answer to a write)."
)

__all__ = [
    "NEXT_CURSOR",
    "AddLanguageRequest",
    "ContentEntryOut",
    "ContentModelOut",
    "CreateKeysRequest",
    "CreateProjectRequest",
    "DeleteKeysRequest",
    "DeleteTermsRequest",
    "EntriesOut",
    "ErrorBody",
    "GlossaryOut",
    "GlossaryTermIn",
    "GlossaryTermOut",
    "ImportOut",
    "KeyIn",
    "KeyOut",
    "KeyUpdateIn",
    "KeysOut",
    "MeGrant",
    "MeOut",
    "MintRequest",
    "MintResponse",
    "ModelsOut",
    "NamesOut",
    "OrganizationOut",
    "OrganizationsOut",
    "ProjectOut",
    "ProjectsOut",
    "PublishCountOut",
    "PublishEntriesRequest",
    "PublishRequest",
    "PublishedEntriesOut",
    "SaveEntryRequest",
    "SaveGlossaryRequest",
    "SetTranslationsRequest",
    "SkippedOut",
    "TranslationOut",
    "TranslationsOut",
    "UpdateKeysRequest",
    "WrittenOut",
]

_STRICT = ConfigDict(extra="forbid")


class _View(BaseModel):
    """A response body whose fields are read by name from one domain object."""

    model_config = ConfigDict(from_attributes=True)

    @classmethod
    def of(cls, source: object) -> Self:
        return cls.model_validate(source)


class ErrorBody(BaseModel):
    error: str
    error_description: str
    required: str | None = Field(None, description="The missing scope (missing_scope only).")
    line: int | None = Field(None, description="Where a malformed file fails (1-based).")
    column: int | None = Field(None, description="The column of that line (1-based).")
    key: str | None = Field(None, description="The key of an invalid translation.")
    problem: str | None = Field(None, description="What is wrong with that translation.")


class MintRequest(BaseModel):
    model_config = _STRICT
    project_ids: list[str] | None = Field(
        None, description="Projects of the grant's organization; empty or absent = every project."
    )
    scopes: list[str] | None = Field(
        None, description="A subset of the grant's scopes; absent = all of them."
    )


class MintResponse(BaseModel):
    installation_token: str
    token_type: str = "Bearer"  # noqa: S105
    expires_at: datetime
    expires_in: int
    organization_id: str
    project_ids: list[str]
    scopes: list[str]


class OrganizationOut(_View):
    id: str
    slug: str
    name: str


class OrganizationsOut(BaseModel):
    organizations: list[OrganizationOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class MeGrant(BaseModel):
    grant_id: str
    organization: OrganizationOut
    scopes: list[str]
    projects: Literal["all"] | list[str] = Field(
        description='"all" (every project, including future ones) or the ids of the projects '
        "the grant covers"
    )
    created_at: datetime
    last_used_at: datetime | None


class MeUser(BaseModel):
    id: str
    email: str
    name: str


class MeClient(BaseModel):
    client_id: str
    name: str


class MeOut(BaseModel):
    user: MeUser
    client: MeClient
    grants: list[MeGrant]


class ProjectOut(_View):
    id: str
    organization_id: str
    slug: str
    name: str
    source_language: str
    languages: list[str]
    created_at: datetime


class ProjectsOut(BaseModel):
    projects: list[ProjectOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class CreateProjectRequest(BaseModel):
    model_config = _STRICT
    name: str = Field(max_length=200)
    slug: str = Field(max_length=64)
    source_language: str = Field(
        max_length=35,
        # SPEC §4 names it sourceLanguage: still accepted, outside the naming convention
        validation_alias=AliasChoices("source_language", "sourceLanguage"),
    )


class AddLanguageRequest(BaseModel):
    model_config = _STRICT
    code: str = Field(max_length=35)


class ContentModelOut(_View):
    slug: str
    name: str
    fields: list[dict[str, Any]]
    created_at: datetime


class ModelsOut(BaseModel):
    models: list[ContentModelOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class KeyOut(_View):
    name: str
    description: str
    namespace: str
    created_at: datetime
    updated_at: datetime


class KeysOut(BaseModel):
    keys: list[KeyOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class KeyIn(BaseModel):
    model_config = _STRICT
    name: str
    description: str = ""
    namespace: str = Field(
        "common",
        description=(
            "The key's namespace: 1-64 lowercase letters, digits, '.', '_' or '-'. "
            "A key name is unique in its project whatever its namespace."
        ),
    )


class CreateKeysRequest(BaseModel):
    model_config = _STRICT
    keys: list[KeyIn] = Field(max_length=1000)


class KeyUpdateIn(BaseModel):
    model_config = _STRICT
    name: str
    description: str | None = None
    translations: dict[str, str] | None = Field(
        None, description="Draft translations by language code."
    )


class UpdateKeysRequest(BaseModel):
    model_config = _STRICT
    keys: list[KeyUpdateIn] = Field(max_length=1000)


class DeleteKeysRequest(BaseModel):
    model_config = _STRICT
    names: list[str] = Field(max_length=1000)


class NamesOut(BaseModel):
    deleted: list[str]


class TranslationOut(_View):
    key: str
    draft: str | None
    published: str | None
    updated_at: datetime
    published_at: datetime | None


class TranslationsOut(BaseModel):
    language: str
    translations: list[TranslationOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class SetTranslationsRequest(BaseModel):
    model_config = _STRICT
    translations: dict[str, str] = Field(description="Draft text by key name.")


class WrittenOut(BaseModel):
    language: str
    written: int


class SkippedOut(BaseModel):
    key: str
    reason: str
    line: int | None = Field(None, description="Where the entry starts, when the format has lines.")


class ImportOut(BaseModel):
    """What an import wrote, as drafts: keys created, drafts updated, entries unchanged,
    drafts reverted (replace-drafts) and entries skipped with why."""

    language: str
    format: str
    mode: str
    created: list[str]
    updated: list[str]
    unchanged: list[str]
    reverted: list[str]
    skipped: list[SkippedOut]

    @classmethod
    def of(cls, language: str, format: str, mode: str, report: ImportReport) -> Self:
        return cls(
            language=language,
            format=format,
            mode=mode,
            created=report.created,
            updated=report.updated,
            unchanged=report.unchanged,
            reverted=report.reverted,
            skipped=[SkippedOut(key=s.key, reason=s.reason, line=s.line) for s in report.skipped],
        )


class PublishRequest(BaseModel):
    model_config = _STRICT
    languages: list[str] | None = Field(None, description="Absent = every language.")


class PublishCountOut(BaseModel):
    published: int


class GlossaryTermIn(BaseModel):
    model_config = _STRICT
    term: str
    description: str = ""
    translations: dict[str, str] = Field(default_factory=dict)


class GlossaryTermOut(_View):
    term: str
    description: str
    translations: dict[str, str]
    created_at: datetime
    updated_at: datetime


class GlossaryOut(BaseModel):
    terms: list[GlossaryTermOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class SaveGlossaryRequest(BaseModel):
    model_config = _STRICT
    terms: list[GlossaryTermIn] = Field(max_length=500)


class DeleteTermsRequest(BaseModel):
    model_config = _STRICT
    terms: list[str] = Field(max_length=500)


class ContentEntryOut(BaseModel):
    model: str
    slug: str
    draft: dict[str, Any]
    published: dict[str, Any] | None
    updated_at: datetime
    published_at: datetime | None

    @classmethod
    def of(cls, entry: ContentEntry) -> ContentEntryOut:
        return cls(
            model=entry.model_slug,
            slug=entry.slug,
            draft=entry.draft,
            published=entry.published,
            updated_at=entry.updated_at,
            published_at=entry.published_at,
        )


class EntriesOut(BaseModel):
    entries: list[ContentEntryOut]
    next_cursor: str | None = Field(None, description=NEXT_CURSOR)


class SaveEntryRequest(BaseModel):
    model_config = _STRICT
    data: dict[str, Any] = Field(
        description="Field values; a localized field takes an object of language: text."
    )


class PublishedEntriesOut(BaseModel):
    published: list[str]


class PublishEntriesRequest(BaseModel):
    model_config = _STRICT
    entries: list[str] | None = Field(None, description="Entry slugs; absent = every entry.")
