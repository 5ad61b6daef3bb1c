"""JSON translation files (RFC 8259): flat (``{"a.b": "…"}``), nested the i18next way
(``{"a": {"b": "…"}}``, levels split at `Options.separator`) and Flutter's ARB
(Application Resource Bundle: ``@@locale``, ``@key`` metadata with a ``description``).

Texts are ICU MessageFormat in all three. Written with two-space indentation,
keys in the order given (by name), non-ASCII characters as they are, and a final
newline.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from i18n_connect.errors import MalformedFile
from i18n_connect.formats.model import Entry, Options, Parsed, Skipped, decode, nest

__all__ = ["ARB", "FLAT_JSON", "NESTED_JSON"]


def _dump(value: object) -> bytes:
    return (json.dumps(value, ensure_ascii=False, indent=2) + "\n").encode()


def _load(data: bytes) -> Any:
    try:
        return json.loads(decode(data))
    except json.JSONDecodeError as error:
        where = {"line": error.lineno, "column": error.colno}
        raise MalformedFile(f"invalid JSON: {error.msg}", **where) from None


def _object(data: bytes) -> dict[str, Any]:
    value = _load(data)
    if not isinstance(value, dict):
        raise MalformedFile("the file must hold a JSON object", line=1, column=1)
    return value


def _not_text(key: str, value: object) -> Skipped:
    kind = "an object" if isinstance(value, dict) else type(value).__name__
    return Skipped(key, f"the value is {kind}, not a string")


class _Flat:
    name, media_type, extension = "json", "application/json", "json"

    def render(self, entries: Sequence[Entry], options: Options) -> bytes:
        return _dump({e.key: e.text for e in entries if e.text is not None})

    def parse(self, data: bytes, options: Options) -> Parsed:
        parsed = Parsed()
        for key, value in _object(data).items():
            if isinstance(value, str):
                parsed.entries.append(Entry(key, value))
            else:
                parsed.skipped.append(_not_text(key, value))
        return parsed


class _Nested:
    name, media_type, extension = "json-nested", "application/json", "json"

    def render(self, entries: Sequence[Entry], options: Options) -> bytes:
        return _dump(nest(entries, options.separator, str))

    def parse(self, data: bytes, options: Options) -> Parsed:
        parsed = Parsed()
        stack: list[tuple[str, dict[str, Any]]] = [("", _object(data))]
        while stack:
            prefix, level = stack.pop()
            for part, value in level.items():
                key = prefix + part
                if isinstance(value, dict):
                    stack.append((key + options.separator, value))
                elif isinstance(value, str):
                    parsed.entries.append(Entry(key, value))
                else:
                    parsed.skipped.append(_not_text(key, value))
        return parsed


class _Arb:
    name, media_type, extension = "arb", "application/json", "arb"

    def render(self, entries: Sequence[Entry], options: Options) -> bytes:
        document: dict[str, Any] = {"@@locale": options.language.replace("-", "_")}
        for entry in entries:
            if entry.text is None:
                continue
            document[entry.key] = entry.text
            if entry.comment:
                document["@" + entry.key] = {"description": entry.comment}
        return _dump(document)

    def parse(self, data: bytes, options: Options) -> Parsed:
        document = _object(data)
        parsed = Parsed()
        for key, value in document.items():
            if key.startswith("@"):
                continue
            if not isinstance(value, str):
                parsed.skipped.append(_not_text(key, value))
                continue
            meta = document.get("@" + key)
            description = meta.get("description") if isinstance(meta, dict) else None
            comment = description if isinstance(description, str) else ""
            parsed.entries.append(Entry(key, value, comment=comment))
        return parsed


FLAT_JSON = _Flat()
NESTED_JSON = _Nested()
ARB = _Arb()
