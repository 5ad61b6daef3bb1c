"""Translation keys of a project: list, create, update, delete (SPEC §4 and §5 key tools).

A key is named uniquely within its project (``checkout.title``). Creating a key
that exists is a `ConflictError` naming it; updating or deleting an unknown
key is a `NotFound` naming it. Every function works inside the caller's
transaction and checks nothing about who is asking: the edge does that, and
tells `delete_keys` whether the caller may take published text off the CDN.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.errors import ConflictError, InvalidRequest, MissingScope, NotFound
from i18n_connect.ids import new_id
from i18n_connect.scopes import PUBLISH_TRANSLATIONS
from i18n_connect.storage import translations as key_store
from i18n_connect.storage.translations import TranslationKey
from i18n_connect.webhooks import events

__all__ = [
    "DEFAULT_NAMESPACE",
    "MAX_BATCH",
    "KeyUpdate",
    "TranslationKey",
    "add_keys",
    "check_key_name",
    "check_namespace",
    "create_keys",
    "delete_keys",
    "key_ids",
    "list_keys",
    "published_key_names",
    "update_keys",
]

MAX_BATCH = 1000  # keys per create/update/delete call
DEFAULT_NAMESPACE = "common"
_NAMESPACE = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
_MAX_NAME = 500
_MAX_DESCRIPTION = 2000


@dataclass(frozen=True, slots=True)
class KeyUpdate:
    """A change to one key: a new description and/or draft translations by language."""

    name: str
    description: str | None = None
    translations: Mapping[str, str] | None = None


def check_namespace(namespace: str) -> str:
    """The namespace when it is 1-64 lowercase letters, digits, ``.``, ``_`` or ``-``."""
    if not _NAMESPACE.fullmatch(namespace):
        raise InvalidRequest(
            f"the namespace {namespace[:80]!r} must be 1-64 lowercase letters, digits, '.', '_' "
            "or '-', starting with a letter or digit"
        )
    return namespace


def check_key_name(name: str) -> str:
    """The key name when it is 1-500 characters without surrounding whitespace."""
    if not name or len(name) > _MAX_NAME or name != name.strip():
        raise InvalidRequest(
            f"the key name {name[:80]!r} must be 1-{_MAX_NAME} characters "
            "without leading or trailing whitespace"
        )
    return name


def _check_description(description: str) -> str:
    if len(description) > _MAX_DESCRIPTION:
        raise InvalidRequest(f"a key description must be at most {_MAX_DESCRIPTION} characters")
    return description


def _check_batch(size: int) -> None:
    if size == 0:
        raise InvalidRequest("give at least one key")
    if size > MAX_BATCH:
        raise InvalidRequest(f"at most {MAX_BATCH} keys per request")


async def _changed(
    conn: AsyncConnection, project_id: str, change: str, count: int, now: datetime
) -> None:
    """Write ``keys.changed`` to the webhook outbox: what happened to how many keys."""
    await events.emit_for_project(
        conn, "keys.changed", project_id=project_id, now=now, change=change, count=count
    )


async def list_keys(
    conn: AsyncConnection,
    project_id: str,
    *,
    prefix: str | None = None,
    limit: int = MAX_BATCH,
    offset: int = 0,
    after: str | None = None,
) -> list[TranslationKey]:
    """The project's keys by name, optionally only those starting with ``prefix`` and those
    after the name ``after`` (a cursor: stable while keys are added concurrently)."""
    return await key_store.list_keys(
        conn, project_id=project_id, prefix=prefix, limit=limit, offset=offset, after=after
    )


async def key_ids(conn: AsyncConnection, project_id: str, names: Iterable[str]) -> dict[str, str]:
    """Map each given key name to its id; a name that does not exist is a `NotFound`."""
    wanted = list(dict.fromkeys(names))
    found = await key_store.key_ids_by_name(conn, project_id=project_id, names=wanted)
    missing = [name for name in wanted if name not in found]
    if missing:
        raise NotFound(f"unknown key(s): {', '.join(missing[:20])}")
    return found


async def create_keys(
    conn: AsyncConnection,
    project_id: str,
    names_with_descriptions: Mapping[str, str] | Iterable[tuple[str, str]],
    now: datetime,
    *,
    namespaces: Mapping[str, str] | None = None,
) -> list[TranslationKey]:
    """Create keys (name → description), each in its namespace (``namespaces``: name →
    namespace; `DEFAULT_NAMESPACE` for the others); an existing name is a `ConflictError`
    naming it, whatever its namespace (a name is unique in its project)."""
    pairs = (
        list(names_with_descriptions.items())
        if isinstance(names_with_descriptions, Mapping)
        else list(names_with_descriptions)
    )
    _check_batch(len(pairs))
    return await add_keys(conn, project_id, pairs, now, namespaces=namespaces or {})


async def add_keys(
    conn: AsyncConnection,
    project_id: str,
    pairs: Sequence[tuple[str, str]],
    now: datetime,
    *,
    namespace: str = DEFAULT_NAMESPACE,
    namespaces: Mapping[str, str] | None = None,
) -> list[TranslationKey]:
    """`create_keys` without its batch limit, for imports that bound their own size, in
    ``namespace`` unless ``namespaces`` names another for a key."""
    seen: set[str] = set()
    created: list[TranslationKey] = []
    for name, description in pairs:
        check_key_name(name)
        if name in seen:
            raise InvalidRequest(f"the key {name!r} is listed twice")
        seen.add(name)
        created.append(
            TranslationKey(
                id=new_id("key"),
                project_id=project_id,
                name=name,
                description=_check_description(description),
                created_at=now,
                updated_at=now,
                namespace=check_namespace((namespaces or {}).get(name, namespace)),
            )
        )
    taken = await key_store.existing_key_names(conn, project_id=project_id, names=list(seen))
    if taken:
        raise ConflictError(f"key(s) already exist: {', '.join(taken[:20])}")
    for start in range(0, len(created), MAX_BATCH):
        if not await key_store.insert_keys(conn, keys=created[start : start + MAX_BATCH]):
            # a concurrent request created one of them first
            raise ConflictError("one of the keys was created concurrently")
    await _changed(conn, project_id, "created", len(created), now)
    return created


async def update_keys(
    conn: AsyncConnection, project_id: str, updates: Iterable[KeyUpdate], now: datetime
) -> list[TranslationKey]:
    """Change descriptions and draft translations of existing keys; returns the keys."""
    from i18n_connect.platform.translations import set_translations

    changes = list(updates)
    _check_batch(len(changes))
    ids = await key_ids(conn, project_id, (change.name for change in changes))
    by_language: dict[str, dict[str, str]] = {}
    for change in changes:
        if change.description is not None:
            await key_store.update_key_description(
                conn,
                key_id=ids[change.name],
                description=_check_description(change.description),
                updated_at=now,
            )
        for language, text in (change.translations or {}).items():
            by_language.setdefault(language, {})[change.name] = text
    for language, texts in by_language.items():
        await set_translations(conn, project_id, language, texts, now)
    await _changed(conn, project_id, "updated", len(changes), now)
    return await key_store.get_keys(conn, key_ids=list(ids.values()))


async def published_key_names(conn: AsyncConnection, ids: Mapping[str, str]) -> list[str]:
    """The names, sorted, of the given keys (name → id) with a published text in any language."""
    by_id = {key_id: name for name, key_id in ids.items()}
    live = await key_store.keys_with_published_text(conn, key_ids=list(by_id))
    return sorted(by_id[key_id] for key_id in live)


async def delete_keys(
    conn: AsyncConnection,
    project_id: str,
    names: Iterable[str],
    *,
    may_unpublish: bool,
    now: datetime,
) -> list[str]:
    """Delete keys and their translations; returns the names deleted (unknown → `NotFound`).

    Deleting a key also takes its published texts off the CDN. Unless ``may_unpublish``,
    a key with published text refuses the whole call — nothing is deleted — with a
    `MissingScope` of ``translations:publish`` naming those keys.
    """
    wanted = list(dict.fromkeys(names))
    _check_batch(len(wanted))
    ids = await key_ids(conn, project_id, wanted)
    if not may_unpublish and (live := await published_key_names(conn, ids)):
        raise MissingScope(
            PUBLISH_TRANSLATIONS,
            f"Deleting keys with published text needs the scope {PUBLISH_TRANSLATIONS}: "
            f"{', '.join(live[:20])}.",
        )
    await key_store.delete_keys(conn, key_ids=list(ids.values()))
    await _changed(conn, project_id, "deleted", len(wanted), now)
    return wanted
