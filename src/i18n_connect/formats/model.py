"""What every file format reads and writes: one `Entry` per key.

A format turns the `Entry` list of one language into bytes (`Format.render`)
and bytes back into entries (`Format.parse`), or raises `MalformedFile` with the
line and column of the problem. Texts are ICU MessageFormat; a format with
native plurals maps them to and from `messages.Plural`. ``text`` is ``None``
for a key the file lists without a translation (an empty gettext ``msgstr``,
an XLIFF unit without ``<target>``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from i18n_connect.errors import InvalidRequest, MalformedFile

__all__ = ["Entry", "Format", "Options", "Parsed", "Skipped", "decode", "nest"]


@dataclass(frozen=True, slots=True)
class Entry:
    key: str
    text: str | None
    comment: str = ""  # the key's description
    source: str | None = None  # the source language's text (XLIFF, gettext templates)
    line: int | None = None  # where the entry starts in a parsed file, when known


@dataclass(frozen=True, slots=True)
class Options:
    language: str
    source_language: str
    separator: str = "."  # between the levels of nested JSON and YAML


@dataclass(frozen=True, slots=True)
class Skipped:
    key: str
    reason: str
    line: int | None = None


@dataclass(slots=True)
class Parsed:
    """The entries of a file, and what it holds that is not a translation, with why."""

    entries: list[Entry] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def decode(data: bytes) -> str:
    """UTF-8 text (a leading BOM dropped); else `MalformedFile` at the first bad byte."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        before = data[: error.start]
        line = before.count(b"\n") + 1
        column = error.start - (before.rfind(b"\n") + 1) + 1
        raise MalformedFile("the file is not UTF-8", line=line, column=column) from None


def nest(entries: Sequence[Entry], separator: str, leaf: Callable[[str], Any]) -> dict[str, Any]:
    """The translated entries as levels split at ``separator``, each text as ``leaf(text)``;
    a key that is also a level of another is an `InvalidRequest`."""
    root: dict[str, Any] = {}
    leaves: set[int] = set()  # ids of the dicts that are values, not levels
    for entry in entries:
        if entry.text is None:
            continue
        *path, last = entry.key.split(separator)
        level = root
        for part in path:
            level = level.setdefault(part, {})
            if not isinstance(level, dict) or id(level) in leaves:
                raise _collision(entry.key, separator)
        if last in level:
            raise _collision(entry.key, separator)
        value = level[last] = leaf(entry.text)
        if isinstance(value, dict):
            leaves.add(id(value))
    return root


def _collision(key: str, separator: str) -> InvalidRequest:
    return InvalidRequest(
        f"the key {key!r} is both a text and a level when nested at {separator!r}; "
        "choose another separator or a flat format"
    )


class Format(Protocol):
    name: str
    media_type: str
    extension: str

    def render(self, entries: Sequence[Entry], options: Options) -> bytes: ...

    def parse(self, data: bytes, options: Options) -> Parsed: ...
