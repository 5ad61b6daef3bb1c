"""Export a language of a project as entries, and import entries as drafts (partner guide,
"Import and export").

An import never publishes. It writes one language's drafts in the caller's
transaction and reports, per key, whether it was created, updated, unchanged or
skipped (with the reason and the file's line). Keys the file names that the
project lacks are created only when the caller ``may_create_keys``; otherwise the
whole import is a `MissingScope` of ``keys:write``. A text with broken ICU
syntax or placeholders other than its source text's refuses the whole import
(`InvalidTranslation`), so a file is written entirely or not at all. With
``replace-drafts`` the language's drafts of the namespace's keys the file does
not name are dropped too, back to their published text. Keys are created in the
import's namespace; a key of another namespace is skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import InvalidRequest, MalformedFile, MissingScope, NotFound
from i18n_connect.formats import Entry, Parsed, Skipped
from i18n_connect.platform.keys import DEFAULT_NAMESPACE, add_keys, check_key_name
from i18n_connect.platform.projects import Project, normalize_language
from i18n_connect.platform.translations import MAX_TEXT, check_texts
from i18n_connect.storage import translations as translation_store
from i18n_connect.storage.translations import KeyText
from i18n_connect.unicode_text import holds_unpaired_surrogate

__all__ = ["MAX_IMPORT_ENTRIES", "ImportReport", "Mode", "export_entries", "import_entries"]

MAX_IMPORT_ENTRIES = 50_000
UNPAIRED_SURROGATE_IN_FILE = "the file holds text that is not valid Unicode (an unpaired surrogate)"
Mode = Literal["merge", "replace-drafts"]
State = Literal["draft", "published"]


@dataclass(slots=True)
class ImportReport:
    created: list[str] = field(default_factory=list)  # keys created
    updated: list[str] = field(default_factory=list)  # keys whose draft changed
    unchanged: list[str] = field(default_factory=list)
    reverted: list[str] = field(default_factory=list)  # drafts dropped by replace-drafts
    skipped: list[Skipped] = field(default_factory=list)


def project_language(project: Project, language: str) -> str:
    """The canonical code of one of the project's languages; else `NotFound`."""
    code = normalize_language(language)
    if code not in project.languages:
        raise NotFound(f"the project has no language {code!r}")
    return code


async def _texts(
    conn: AsyncConnection, project: Project, language: str, namespace: str | None = None
) -> dict[str, KeyText]:
    rows = await translation_store.key_texts(
        conn, project_id=project.id, language=language, namespace=namespace
    )
    return {row.name: row for row in rows}


def _current(row: KeyText, state: State) -> str | None:
    return row.published if state == "published" else row.draft


async def export_entries(
    conn: AsyncConnection,
    project: Project,
    language: str,
    *,
    state: State = "draft",
    namespace: str | None = None,
) -> list[Entry]:
    """Every key of the project (of ``namespace`` only, if given), by name (code point
    order), with its ``state`` text in ``language`` (``None`` when it has none) and its source
    language text."""
    code = project_language(project, language)
    rows = await _texts(conn, project, code, namespace)
    sources = (
        rows
        if code == project.source_language
        else await _texts(conn, project, project.source_language, namespace)
    )
    return [
        Entry(
            name,
            _current(rows[name], state),
            comment=rows[name].description,
            source=_current(sources[name], state) if name in sources else None,
        )
        for name in sorted(rows)
    ]


def _check_unicode(parsed: Parsed) -> None:
    """`MalformedFile` at the first entry holding an unpaired surrogate (`unicode_text`): a
    format's escape can give one (JSON's, YAML's, Android's ``\\uD800``), no database holds it."""
    for entry in parsed.entries:
        if holds_unpaired_surrogate((entry.key, entry.text, entry.comment, entry.source)):
            raise MalformedFile(UNPAIRED_SURROGATE_IN_FILE, line=entry.line)
    for skipped in parsed.skipped:
        if holds_unpaired_surrogate(skipped.key):
            raise MalformedFile(UNPAIRED_SURROGATE_IN_FILE, line=skipped.line)


def _admissible(parsed: Parsed) -> tuple[list[Entry], list[Skipped]]:
    """The entries to consider, first of each key; the rest skipped with why."""
    skipped = list(parsed.skipped)
    first: dict[str, Entry] = {}
    for entry in parsed.entries:
        if entry.key in first:
            where = first[entry.key].line
            also = f" (first at line {where})" if where is not None else ""
            skipped.append(Skipped(entry.key, "the key appears twice" + also, entry.line))
            continue
        try:
            check_key_name(entry.key)
        except InvalidRequest as error:
            skipped.append(Skipped(entry.key[:500], error.description, entry.line))
            continue
        if entry.text is not None and len(entry.text) > MAX_TEXT:
            reason = f"the text is longer than {MAX_TEXT} characters"
            skipped.append(Skipped(entry.key, reason, entry.line))
            continue
        first[entry.key] = entry
    return list(first.values()), skipped


async def import_entries(
    conn: AsyncConnection,
    project: Project,
    language: str,
    parsed: Parsed,
    *,
    mode: Mode,
    may_create_keys: bool,
    now: datetime,
    namespace: str = DEFAULT_NAMESPACE,
) -> ImportReport:
    """Write the entries of one language as drafts into ``namespace``; see the module
    docstring."""
    code = project_language(project, language)
    _check_unicode(parsed)
    if len(parsed.entries) > MAX_IMPORT_ENTRIES:
        raise InvalidRequest(f"a file may hold at most {MAX_IMPORT_ENTRIES} entries")
    entries, skipped = _admissible(parsed)
    rows = await _texts(conn, project, code)
    elsewhere = [e for e in entries if e.key in rows and rows[e.key].namespace != namespace]
    for entry in elsewhere:
        reason = f"the key belongs to the namespace {rows[entry.key].namespace!r}"
        skipped.append(Skipped(entry.key, reason, entry.line))
    entries = [entry for entry in entries if entry not in elsewhere]
    new = [entry for entry in entries if entry.key not in rows]
    if new and not may_create_keys:
        names = ", ".join(entry.key for entry in new[:20])
        raise MissingScope(
            "keys:write", f"The file names {len(new)} new key(s), which needs keys:write: {names}."
        )
    writes = {e.key: e.text for e in entries if e.text is not None}
    sources = {}
    if code != project.source_language:
        source_rows = await _texts(conn, project, project.source_language)
        sources = {
            name: row.draft if row.draft is not None else row.published
            for name, row in source_rows.items()
        }
    check_texts(writes, language=code, sources=sources)

    report = ImportReport(skipped=skipped)
    ids = {name: row.key_id for name, row in rows.items()}
    pairs = [(entry.key, entry.comment) for entry in new]
    for key in await add_keys(conn, project.id, pairs, now, namespace=namespace):
        ids[key.name] = key.id
        report.created.append(key.name)
    changed: dict[str, str] = {}
    for entry in entries:
        if entry.key in rows:
            if entry.text is None or entry.text == rows[entry.key].draft:
                report.unchanged.append(entry.key)
                continue
            report.updated.append(entry.key)
        if entry.text is not None:
            changed[ids[entry.key]] = entry.text
    if changed:
        await translation_store.save_drafts(conn, language=code, drafts=changed, updated_at=now)
    if mode == "replace-drafts":
        named = {entry.key for entry in entries}
        stale = [
            name
            for name, row in rows.items()
            if name not in named
            and row.namespace == namespace
            and row.draft is not None
            and row.draft != row.published
        ]
        await translation_store.revert_drafts(
            conn, language=code, key_ids=[rows[name].key_id for name in stale], updated_at=now
        )
        report.reverted = sorted(stale)
    return report
