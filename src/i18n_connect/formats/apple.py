"""Apple localization files: ``Localizable.strings`` and ``Localizable.stringsdict``
(Apple "String Resources"; the property list format, PropertyList-1.0.dtd).

``.strings`` is a list of ``"key" = "value";`` pairs in UTF-8, each after an
optional ``/* description */``. It is read by a strict tokenizer, so a broken
file is refused with its line and column rather than half read (decisions.md).

``.stringsdict`` is an XML property list read and written with `plistlib`: each
plural key holds ``NSStringLocalizedFormatKey`` ``%#@count@`` and a ``count``
rule with one string per CLDR category, mapped to and from an ICU plural over
``count`` (``#`` ↔ ``%d``). Keys that are not plurals belong in ``.strings``.
"""

from __future__ import annotations

import plistlib
import re
from collections.abc import Sequence
from typing import Any
from xml.parsers.expat import ExpatError

from i18n_connect.errors import MalformedFile
from i18n_connect.formats.model import Entry, Options, Parsed, Skipped, decode
from i18n_connect.platform.messages import CATEGORY_ORDER, build_plural, plural_of
from i18n_connect.unicode_text import joined_pairs

__all__ = ["APPLE_STRINGS", "STRINGSDICT"]

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}
_UNESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0"}
_TOKEN = re.compile(
    r'(?P<space>\s+)|(?P<block>/\*.*?\*/)|(?P<line>//[^\n]*)|(?P<string>"(?:[^"\\]|\\.)*")'
    r"|(?P<bare>[A-Za-z0-9_.$:/-]+)|(?P<punct>[=;])",
    re.DOTALL,
)
_ESCAPE = re.compile(r"\\(U[0-9A-Fa-f]{4}|u[0-9A-Fa-f]{4}|.)", re.DOTALL)


def _quote(text: str) -> str:
    return '"' + "".join(_ESCAPES.get(char, char) for char in text) + '"'


def _unquote(token: str) -> str:
    def one(match: re.Match[str]) -> str:
        code = match.group(1)
        if len(code) == 5:
            return chr(int(code[1:], 16))
        return _UNESCAPES.get(code, code)

    return joined_pairs(_ESCAPE.sub(one, token[1:-1]))


def _position(text: str, offset: int) -> dict[str, int]:
    line = text.count("\n", 0, offset) + 1
    return {"line": line, "column": offset - (text.rfind("\n", 0, offset) + 1) + 1}


class _Strings:
    name, media_type, extension = "strings", "text/plain", "strings"

    def render(self, entries: Sequence[Entry], options: Options) -> bytes:
        lines: list[str] = []
        for entry in entries:
            if entry.text is None:
                continue
            if entry.comment:
                lines.append(f"/* {entry.comment.replace('*/', '* /')} */")
            lines.append(f"{_quote(entry.key)} = {_quote(entry.text)};")
            lines.append("")
        return "\n".join(lines).encode()

    def parse(self, data: bytes, options: Options) -> Parsed:
        text = decode(data)
        parsed = Parsed()
        expected = "key"
        comment, key, line = "", "", 0
        at = 0
        while at < len(text):
            match = _TOKEN.match(text, at)
            if match is None:
                raise MalformedFile("unexpected character in .strings", **_position(text, at))
            kind, value, start, at = match.lastgroup, match.group(), at, match.end()
            if kind == "space" or kind == "line":
                continue
            if kind == "block":
                if expected == "key":
                    comment = value[2:-2].strip()
                continue
            symbol = "word" if kind in ("string", "bare") else value
            if expected == "key" and symbol == "word":
                key = _unquote(value) if kind == "string" else value
                line = _position(text, start)["line"]
                expected = "="
            elif expected == "=" and symbol == "=":
                expected = "value"
            elif expected == "value" and kind == "string":
                parsed.entries.append(Entry(key, _unquote(value), comment=comment, line=line))
                expected, comment = ";", ""
            elif expected == ";" and symbol == ";":
                expected = "key"
            else:
                wanted = {"key": "a quoted key", "=": "'='", "value": "a quoted value", ";": "';'"}
                problem = f"expected {wanted[expected]}"
                raise MalformedFile(problem, **_position(text, start))
        if expected != "key":
            raise MalformedFile("the file ends inside an entry", **_position(text, len(text)))
        return parsed


def _plural_dict(plural_forms: dict[str, str]) -> dict[str, Any]:
    rule: dict[str, Any] = {
        "NSStringFormatSpecTypeKey": "NSStringPluralRuleType",
        "NSStringFormatValueTypeKey": "d",
    }
    rule.update({category: form.replace("#", "%d") for category, form in plural_forms.items()})
    return {"NSStringLocalizedFormatKey": "%#@count@", "count": rule}


def _forms(value: object) -> dict[str, str] | None:
    """The category forms of one ``.stringsdict`` entry, when it is one plural rule."""
    if not isinstance(value, dict):
        return None
    rules = [v for k, v in value.items() if k != "NSStringLocalizedFormatKey"]
    if len(rules) != 1 or not isinstance(rules[0], dict):
        return None
    forms = {k: v for k, v in rules[0].items() if k in CATEGORY_ORDER}
    if "other" not in forms or not all(isinstance(v, str) for v in forms.values()):
        return None
    return {category: form.replace("%d", "#") for category, form in forms.items()}


class _StringsDict:
    name, media_type, extension = "stringsdict", "application/x-plist", "stringsdict"

    def render(self, entries: Sequence[Entry], options: Options) -> bytes:
        document: dict[str, Any] = {}
        for entry in entries:
            plural = plural_of(entry.text) if entry.text is not None else None
            if plural is not None:
                document[entry.key] = _plural_dict(plural.forms)
        return plistlib.dumps(document, fmt=plistlib.FMT_XML, sort_keys=False)

    def parse(self, data: bytes, options: Options) -> Parsed:
        try:
            document = plistlib.loads(data, fmt=plistlib.FMT_XML)
        except ExpatError as error:
            raise MalformedFile(
                f"invalid property list: {error}", line=error.lineno, column=error.offset + 1
            ) from None
        except (ValueError, TypeError) as error:
            raise MalformedFile(f"invalid property list: {error}") from None
        if not isinstance(document, dict):
            raise MalformedFile("the property list must hold a dictionary", line=1)
        parsed = Parsed()
        for key, value in document.items():
            forms = _forms(value)
            if forms is None:
                parsed.skipped.append(Skipped(key, "not a plural rule with an 'other' form"))
            else:
                parsed.entries.append(Entry(key, build_plural("count", forms)))
        return parsed


APPLE_STRINGS = _Strings()
STRINGSDICT = _StringsDict()
