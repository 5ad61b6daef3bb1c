"""A project's glossary: terms with a description and their approved translations (SPEC §4).

`save_terms` creates a term or replaces an existing one of the same name;
`delete_terms` removes terms by name. Translations are keyed by language code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import InvalidRequest, NotFound
from i18n_connect.ids import new_id
from i18n_connect.platform.projects import normalize_language
from i18n_connect.storage import glossary as glossary_store
from i18n_connect.storage.glossary import GlossaryTerm

__all__ = ["GlossaryTerm", "TermInput", "delete_terms", "list_terms", "save_terms"]

_MAX_TERM = 200
_MAX_DESCRIPTION = 2000
_MAX_TEXT = 1000
_MAX_BATCH = 500


@dataclass(frozen=True, slots=True)
class TermInput:
    term: str
    description: str = ""
    translations: Mapping[str, str] = field(default_factory=dict)


def _check(term: TermInput) -> TermInput:
    """The term with canonical language codes, when every part is acceptable."""
    if not term.term.strip() or len(term.term) > _MAX_TERM or term.term != term.term.strip():
        raise InvalidRequest(
            f"the glossary term {term.term[:40]!r} must be 1-{_MAX_TERM} characters "
            "without leading or trailing whitespace"
        )
    if len(term.description) > _MAX_DESCRIPTION:
        raise InvalidRequest(f"a term description must be at most {_MAX_DESCRIPTION} characters")
    texts: dict[str, str] = {}
    for language, text in term.translations.items():
        texts[normalize_language(language)] = text
        if not text or len(text) > _MAX_TEXT:
            raise InvalidRequest(
                f"the {language} translation of {term.term!r} must be 1-{_MAX_TEXT} characters"
            )
    return TermInput(term.term, term.description, texts)


async def list_terms(
    conn: AsyncConnection, project_id: str, *, after: str | None = None, limit: int | None = None
) -> list[GlossaryTerm]:
    """The project's terms by term: those after the term ``after`` only and at most
    ``limit``, if given."""
    return await glossary_store.list_terms(conn, project_id=project_id, after=after, limit=limit)


async def save_terms(
    conn: AsyncConnection, project_id: str, terms: Iterable[TermInput], now: datetime
) -> list[GlossaryTerm]:
    """Create or replace terms (matched by name); returns them as stored."""
    wanted = [_check(term) for term in terms]
    if not wanted or len(wanted) > _MAX_BATCH:
        raise InvalidRequest(f"give 1-{_MAX_BATCH} glossary terms")
    names = [term.term for term in wanted]
    if len(set(names)) != len(names):
        raise InvalidRequest("a glossary term is listed twice")
    existing = await glossary_store.term_ids(conn, project_id=project_id, names=names)
    for term in wanted:
        if term.term in existing:
            await glossary_store.update_term(
                conn,
                term_id=existing[term.term],
                description=term.description,
                translations=term.translations,
                updated_at=now,
            )
        else:
            await glossary_store.insert_term(
                conn,
                term_id=new_id("gls"),
                project_id=project_id,
                term=term.term,
                description=term.description,
                translations=term.translations,
                created_at=now,
            )
    return await glossary_store.list_terms(conn, project_id=project_id, names=names)


async def delete_terms(conn: AsyncConnection, project_id: str, terms: Iterable[str]) -> list[str]:
    """Delete terms by name; an unknown term is a `NotFound` naming it."""
    names = list(dict.fromkeys(terms))
    if not names or len(names) > _MAX_BATCH:
        raise InvalidRequest(f"give 1-{_MAX_BATCH} glossary terms")
    found = await glossary_store.term_ids(conn, project_id=project_id, names=names)
    missing = [name for name in names if name not in found]
    if missing:
        raise NotFound(f"unknown glossary term(s): {', '.join(missing[:20])}")
    await glossary_store.delete_terms(conn, project_id=project_id, names=names)
    return names
