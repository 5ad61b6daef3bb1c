"""Android string resources, ``res/values-xx/strings.xml`` (Android developer guide, "String
resources"), read and written with `lxml`.

A key is a ``<string name>``; a plural is a ``<plurals>`` with one ``<item
quantity>`` per CLDR category, mapped to and from an ICU plural over ``count``.
A description is the XML comment just before the element. Texts are escaped the
Android way: a backslash before ``'``, ``"``, ``\\``, a leading ``@`` or ``?``,
and ``\\n`` / ``\\t`` for newline and tab; reading undoes that, keeps the
content of double-quoted runs as written and collapses other whitespace, as
aapt2 does. Inline markup is read as its text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from lxml import etree

from i18n_connect.errors import MalformedFile
from i18n_connect.formats.model import Entry, Options, Parsed, Skipped
from i18n_connect.formats.xliff import element_line, element_text, secure_xml
from i18n_connect.platform.messages import build_plural, plural_of
from i18n_connect.unicode_text import joined_pairs

__all__ = ["ANDROID"]

_PLURAL_ARGUMENT = "count"
_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\t": "\\t"}
_UNESCAPES = {"n": "\n", "t": "\t"}
_SPACE = re.compile(r"\s+")


def escape(text: str) -> str:
    """``text`` as the content of an Android ``<string>``."""
    escaped = "".join(_ESCAPES.get(char, char) for char in text)
    if escaped.startswith(("@", "?")):
        escaped = "\\" + escaped
    if escaped != escaped.strip() or "  " in escaped:
        escaped = f'"{escaped}"'  # whitespace kept as written
    return escaped


def unescape(raw: str) -> str:
    """The text an Android ``<string>`` content stands for."""
    out: list[str] = []
    plain: list[str] = []  # unquoted text, whose whitespace collapses
    quoted = False
    raw = raw.strip()  # whitespace outside quotes at either end is dropped
    at = 0

    def flush() -> None:
        if plain:
            out.append(_SPACE.sub(" ", "".join(plain)))
            plain.clear()

    while at < len(raw):
        char = raw[at]
        if char == "\\" and at + 1 < len(raw):
            following = raw[at + 1]
            if following == "u" and re.fullmatch(r"[0-9A-Fa-f]{4}", raw[at + 2 : at + 6]):
                decoded, at = chr(int(raw[at + 2 : at + 6], 16)), at + 6
            else:
                decoded, at = _UNESCAPES.get(following, following), at + 2
            flush()
            out.append(decoded)
            continue
        if char == '"':
            flush()
            quoted = not quoted
        elif quoted:
            out.append(char)
        else:
            plain.append(char)
        at += 1
    flush()
    return joined_pairs("".join(out))


class _Android:
    name, media_type, extension = "android", "application/xml", "xml"

    def render(self, entries: Sequence[Entry], options: Options) -> bytes:
        root = etree.Element("resources")
        for entry in entries:
            if entry.text is None:
                continue
            if entry.comment:
                root.append(etree.Comment(" " + entry.comment.replace("--", "- -") + " "))
            plural = plural_of(entry.text)
            if plural is None:
                etree.SubElement(root, "string", name=entry.key).text = escape(entry.text)
                continue
            plurals = etree.SubElement(root, "plurals", name=entry.key)
            for category, form in plural.forms.items():
                etree.SubElement(plurals, "item", quantity=category).text = escape(form)
        etree.indent(root, space="    ")
        return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)

    def parse(self, data: bytes, options: Options) -> Parsed:
        root = secure_xml(data)
        if root.tag != "resources":
            raise MalformedFile("the root element must be <resources>", line=element_line(root))
        parsed = Parsed()
        comment = ""
        for element in root:
            if isinstance(element, etree._Comment):
                comment = (element.text or "").strip()
                continue
            if not isinstance(element.tag, str):
                continue  # a processing instruction
            key, line = element.get("name") or "", element_line(element)
            if element.get("translatable") == "false":
                parsed.skipped.append(Skipped(key, "marked translatable=false", line))
            elif element.tag == "string" and key:
                text = unescape(element_text(element) or "")
                parsed.entries.append(Entry(key, text, comment=comment, line=line))
            elif element.tag == "plurals" and key:
                forms = {
                    item.get("quantity") or "": unescape(element_text(item) or "")
                    for item in element.iter("item")
                }
                text = build_plural(_PLURAL_ARGUMENT, forms)
                parsed.entries.append(Entry(key, text, comment=comment, line=line))
            else:
                parsed.skipped.append(Skipped(key, f"a <{element.tag}> is not a text", line))
            comment = ""
        return parsed


ANDROID = _Android()
