"""XLIFF 1.2 (OASIS XLIFF 1.2 §2) and XLIFF 2.0 (OASIS XLIFF 2.0 §4), read and written with
`lxml`.

Each key is one unit with the source language's text as ``<source>`` and, when
it has one, the language's text as ``<target>``; its description is a
``<note>``. XLIFF 1.2 names the unit by ``id`` and ``resname``; 2.0, whose ids
must be NMTOKENs, by ``name``. Files are parsed without DTDs, entities or
network access; a unit's text is its character content (inline markup is
read as text).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from lxml import etree

from i18n_connect.errors import MalformedFile
from i18n_connect.formats.model import Entry, Options, Parsed, Skipped

__all__ = ["XLIFF_1_2", "XLIFF_2_0", "element_line", "element_text", "secure_xml"]

_XML_SPACE = "{http://www.w3.org/XML/1998/namespace}space"


def secure_xml(data: bytes) -> etree._Element:
    """The root of an XML document read without DTDs, entities or the network; else
    `MalformedFile` with the position of the error."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as error:
        line, column = error.position
        raise MalformedFile(f"invalid XML: {error.msg}", line=line, column=column) from None


def element_text(element: etree._Element | None) -> str | None:
    return None if element is None else "".join(str(part) for part in element.itertext())


def element_line(element: etree._Element) -> int | None:
    line: object = element.sourceline
    return line if isinstance(line, int) else None


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)


def _document(ns: str, **attrs: str) -> etree._Element:
    """An ``<xliff>`` root in ``ns`` as the default namespace."""
    nsmap: dict[str | None, str] = {None: ns}
    return etree.Element(f"{{{ns}}}xliff", attrs, nsmap=nsmap)  # type: ignore[arg-type]


def _child(
    parent: etree._Element, tag: str, text: str | None = None, **attrs: str
) -> etree._Element:
    element = etree.SubElement(parent, tag, attrs)
    element.text = text
    return element


class _Xliff12:
    name, media_type, extension = "xliff", "application/xliff+xml", "xlf"
    ns = "urn:oasis:names:tc:xliff:document:1.2"

    def render(self, entries: Sequence[Entry], options: Options) -> bytes:
        q = f"{{{self.ns}}}"
        root = _document(self.ns, version="1.2")
        file = _child(
            root,
            q + "file",
            original="i18n-connect",
            datatype="plaintext",
            **{"source-language": options.source_language, "target-language": options.language},
        )
        body = _child(file, q + "body")
        for entry in entries:
            unit = _child(body, q + "trans-unit", id=entry.key, resname=entry.key)
            unit.set(_XML_SPACE, "preserve")
            _child(unit, q + "source", entry.source or "")
            if entry.text is not None:
                _child(unit, q + "target", entry.text)
            if entry.comment:
                _child(unit, q + "note", entry.comment)
        return _serialize(root)

    def parse(self, data: bytes, options: Options) -> Parsed:
        root = _root(data, self.ns)
        q = f"{{{self.ns}}}"
        parsed = Parsed()
        for unit in root.iter(q + "trans-unit"):
            key = unit.get("resname") or unit.get("id")
            _add(parsed, key, unit, q + "target", q + "source", q + "note")
        return parsed


class _Xliff20:
    name, media_type, extension = "xliff2", "application/xliff+xml", "xlf"
    ns = "urn:oasis:names:tc:xliff:document:2.0"

    def render(self, entries: Sequence[Entry], options: Options) -> bytes:
        q = f"{{{self.ns}}}"
        root = _document(
            self.ns,
            version="2.0",
            srcLang=options.source_language,
            trgLang=options.language,
        )
        file = _child(root, q + "file", id="f1")
        for number, entry in enumerate(entries, start=1):
            unit = _child(file, q + "unit", id=f"u{number}", name=entry.key)
            if entry.comment:
                _child(_child(unit, q + "notes"), q + "note", entry.comment, category="description")
            segment = _child(unit, q + "segment")
            segment.set(_XML_SPACE, "preserve")
            _child(segment, q + "source", entry.source or "")
            if entry.text is not None:
                _child(segment, q + "target", entry.text)
        return _serialize(root)

    def parse(self, data: bytes, options: Options) -> Parsed:
        root = _root(data, self.ns)
        q = f"{{{self.ns}}}"
        parsed = Parsed()
        for unit in root.iter(q + "unit"):
            segments = list(unit.iter(q + "segment"))
            key = unit.get("name") or unit.get("id")
            if len(segments) > 1:
                parsed.skipped.append(
                    Skipped(key or "", "a unit of several segments", element_line(unit))
                )
                continue
            _add(parsed, key, unit, q + "target", q + "source", q + "note")
        return parsed


def _root(data: bytes, ns: str) -> etree._Element:
    root = secure_xml(data)
    if root.tag != f"{{{ns}}}xliff":
        raise MalformedFile(
            f"the root element must be <xliff> in the namespace {ns}", line=element_line(root)
        )
    return root


def _first(unit: etree._Element, tag: str) -> etree._Element | None:
    found: Iterator[etree._Element] = unit.iter(tag)
    return next(found, None)


def _add(
    parsed: Parsed, key: str | None, unit: etree._Element, target: str, source: str, note: str
) -> None:
    if not key:
        parsed.skipped.append(Skipped("", "a unit without a name or id", element_line(unit)))
        return
    parsed.entries.append(
        Entry(
            key,
            element_text(_first(unit, target)),
            comment=element_text(_first(unit, note)) or "",
            source=element_text(_first(unit, source)),
            line=element_line(unit),
        )
    )


XLIFF_1_2 = _Xliff12()
XLIFF_2_0 = _Xliff20()
