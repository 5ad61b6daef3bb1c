"""Every format renders, parses and renders again to the same bytes, on entries with plurals,
placeholders, unicode, empty strings and comments; each refuses a broken file with its
position."""

from __future__ import annotations

import pytest

from i18n_connect.errors import InvalidRequest, MalformedFile
from i18n_connect.formats import FORMATS, Entry, Options, get_format

PLURAL_DE = "{count, plural, one {# Datei} other {# Dateien}}"
PLURAL_EN = "{count, plural, one {# file} other {# files}}"
ENTRIES = [
    Entry(
        "checkout.pay", "Jetzt {amount} zahlen", comment="The pay button", source="Pay {amount} now"
    ),
    Entry("checkout.title", "Kasse \u2013 Übersicht ✓", source="Checkout"),
    Entry("empty", "", source=""),
    Entry("files.count", PLURAL_DE, comment="Files in a folder", source=PLURAL_EN),
    Entry("legacy.greeting", "Hallo %s, du hast %d Nachrichten", source="Hi %s, %d messages"),
    Entry("日本.挨拶", "こんにちは「{name}」", source="Hello {name}"),
]
OPTIONS = Options(language="de", source_language="en")


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_render_parse_render_is_byte_stable(name: str) -> None:
    fmt = get_format(name)
    first = fmt.render(ENTRIES, OPTIONS)
    parsed = fmt.parse(first, OPTIONS)
    assert parsed.skipped == []
    again = fmt.render(sorted(parsed.entries, key=lambda e: e.key), OPTIONS)
    assert again == first, again.decode()


@pytest.mark.parametrize("name", sorted(set(FORMATS) - {"pot", "stringsdict"}))
def test_texts_survive_the_round_trip(name: str) -> None:
    fmt = get_format(name)
    parsed = {e.key: e for e in fmt.parse(fmt.render(ENTRIES, OPTIONS), OPTIONS).entries}
    assert parsed["checkout.pay"].text == "Jetzt {amount} zahlen"
    assert parsed["日本.挨拶"].text == "こんにちは「{name}」"
    assert parsed["files.count"].text == PLURAL_DE
    if name == "po":  # an empty msgstr means untranslated in gettext
        assert parsed["empty"].text is None
    else:
        assert parsed["empty"].text == ""
    if name not in ("json", "json-nested", "yaml"):  # formats without descriptions
        assert parsed["checkout.pay"].comment == "The pay button"


def test_gettext_plural_forms_follow_cldr() -> None:
    po = get_format("po").render(
        [Entry("n", "{count, plural, one {# файл} few {# файла} many {# файлов} other {# файла}}")],
        Options(language="ru", source_language="en"),
    )
    text = po.decode()
    assert "nplurals=4;" in text
    assert 'msgstr[0] "# файл"' in text
    assert 'msgstr[2] "# файлов"' in text


def test_nested_json_uses_the_separator() -> None:
    fmt = get_format("json-nested")
    options = Options(language="de", source_language="en", separator=":")
    body = fmt.render([Entry("a:b", "x"), Entry("a:c", "y")], options)
    assert body == b'{\n  "a": {\n    "b": "x",\n    "c": "y"\n  }\n}\n'
    assert {e.key for e in fmt.parse(body, options).entries} == {"a:b", "a:c"}


def test_nesting_a_text_under_a_text_is_refused() -> None:
    with pytest.raises(InvalidRequest, match="both a text and a level"):
        get_format("json-nested").render([Entry("a", "x"), Entry("a.b", "y")], OPTIONS)


@pytest.mark.parametrize(
    ("name", "body", "line", "column"),
    [
        ("json", b'{\n  "a": "x",\n  "b": \n}', 4, 1),
        ("json-nested", b'{"a": {"b": "x"', 1, 16),
        ("arb", b"[1, 2]", 1, 1),
        ("xliff", b'<?xml version="1.0"?>\n<xliff version="1.2">\n<file>\n</xliff>', 4, None),
        ("xliff2", b"<xliff/>", 1, None),
        ("po", b'msgid "a"\nmsgstr "b"\n\nmsgid "c"\nmsgstr "d\nfoo\n', 6, None),
        ("yaml", b"de:\n  a: [unclosed\n  b: x\n", 3, None),
        ("json", b'{"a": "\xff"}', 1, 8),
    ],
)
def test_a_malformed_file_names_its_position(
    name: str, body: bytes, line: int, column: int | None
) -> None:
    with pytest.raises(MalformedFile) as raised:
        get_format(name).parse(body, OPTIONS)
    assert raised.value.status == 422
    assert raised.value.line == line
    if column is not None:
        assert raised.value.column == column


def test_xml_entities_are_not_expanded() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>'
        b'<xliff xmlns="urn:oasis:names:tc:xliff:document:1.2" version="1.2"><file><body>'
        b'<trans-unit id="k"><source>s</source><target>&b;</target></trans-unit>'
        b"</body></file></xliff>"
    )
    [entry] = get_format("xliff").parse(bomb, OPTIONS).entries
    assert "aaaaaaaaaa" not in (entry.text or "")


def test_yaml_aliases_are_refused() -> None:
    with pytest.raises(MalformedFile, match="anchors and aliases") as raised:
        get_format("yaml").parse(b"de:\n  a: &x hello\n  b: *x\n", OPTIONS)
    assert raised.value.line == 2


def test_entries_that_are_not_texts_are_skipped_with_a_reason() -> None:
    parsed = get_format("json").parse(b'{"a": "x", "b": 3, "c": {"d": "y"}}', OPTIONS)
    assert [e.key for e in parsed.entries] == ["a"]
    assert [(s.key, s.reason) for s in parsed.skipped] == [
        ("b", "the value is int, not a string"),
        ("c", "the value is an object, not a string"),
    ]
    yaml_parsed = get_format("yaml").parse(b"de:\n  a: x\n  b: 3\n", OPTIONS)
    assert [(s.key, s.line) for s in yaml_parsed.skipped] == [("b", 3)]


@pytest.mark.parametrize(
    ("name", "body", "line", "column"),
    [
        ("android", b"<resources><string name='a'>x</resources>", 1, 42),
        ("android", b"<strings/>", 1, None),
        ("strings", b'"a" = "b";\n"c" = "d"\n"e" = "f";\n', 3, 1),
        ("strings", b'/* c */\n"a" = "unclosed;\n', 2, 7),
        ("stringsdict", b"<plist><dict><key>a</key></plist>", 1, 28),
    ],
)
def test_native_formats_name_the_position_of_an_error(
    name: str, body: bytes, line: int, column: int | None
) -> None:
    with pytest.raises(MalformedFile) as raised:
        get_format(name).parse(body, OPTIONS)
    assert (raised.value.line, raised.value.column or None) == (line, column)


def test_android_strings_are_escaped_and_read_as_aapt2_does() -> None:
    from i18n_connect.formats.android import escape, unescape

    for text in ("it's", " lead", "@home", "?attr", "a  b", "tab\there", "back\\slash", 'Ü "q"'):
        assert unescape(escape(text)) == text
    assert unescape("  Hello   \n   world  ") == "Hello world"
    assert unescape('"  keep  " x') == "  keep   x"
    assert unescape("caf\\u00e9 \\'ok\\'") == "café 'ok'"
    body = (
        b'<resources>\n  <!-- greeting -->\n  <string name="hi">Hi</string>\n'
        b'  <string name="app" translatable="false">App</string>\n'
        b'  <string-array name="list"><item>x</item></string-array>\n</resources>'
    )
    parsed = get_format("android").parse(body, OPTIONS)
    assert [(e.key, e.text, e.comment, e.line) for e in parsed.entries] == [
        ("hi", "Hi", "greeting", 3)
    ]
    assert [(s.key, s.reason, s.line) for s in parsed.skipped] == [
        ("app", "marked translatable=false", 4),
        ("list", "a <string-array> is not a text", 5),
    ]


def test_apple_strings_read_comments_escapes_and_unquoted_keys() -> None:
    body = (
        b'// a line comment\n/* The title */\n"title" = "Caf\\U00e9 \\"n\\"\\n";\nbare_key = "x";\n'
    )
    parsed = get_format("strings").parse(body, OPTIONS)
    assert [(e.key, e.text, e.comment, e.line) for e in parsed.entries] == [
        ("title", 'Café "n"\n', "The title", 3),
        ("bare_key", "x", "", 4),
    ]
    skipped = get_format("stringsdict").parse(
        b'<?xml version="1.0"?><plist version="1.0"><dict><key>a</key><string>x</string>'
        b"</dict></plist>",
        OPTIONS,
    )
    assert [(s.key, s.reason) for s in skipped.skipped] == [
        ("a", "not a plural rule with an 'other' form")
    ]
