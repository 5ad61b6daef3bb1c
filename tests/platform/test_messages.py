"""ICU MessageFormat checks: syntax, CLDR plural categories from babel, and placeholders
against the source text."""

from __future__ import annotations

import pytest

from i18n_connect.platform.messages import (
    build_plural,
    check_text,
    placeholders,
    plural_categories,
    plural_of,
)


def test_plural_categories_come_from_cldr() -> None:
    assert plural_categories("en") == ("one", "other")
    assert plural_categories("ru") == ("one", "few", "many", "other")
    assert plural_categories("ar") == ("zero", "one", "two", "few", "many", "other")
    assert plural_categories("ja") == ("other",)
    assert plural_categories("pt-BR") == ("one", "many", "other")
    assert plural_categories("tlh") == ("zero", "one", "two", "few", "many", "other")


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("Hello {name", "broken ICU MessageFormat: unclosed '{' at character 12"),
        ("Hello name}", "broken ICU MessageFormat: unmatched '}' at character 11"),
        (
            "{n, plural, one {x}}",
            "broken ICU MessageFormat: a plural needs an 'other' option at character 21",
        ),
        (
            "{n, plural, one {x} one {y} other {z}}",
            "broken ICU MessageFormat: the selector 'one' appears twice at character 25",
        ),
        (
            "{n, currency}",
            "broken ICU MessageFormat: unknown argument type 'currency' at character 13",
        ),
        ("{n, plural, few {x} other {y}}", "the plural 'n' uses few; de has one, other"),
    ],
)
def test_broken_messages_name_the_problem(text: str, problem: str) -> None:
    assert check_text(text, language="de", source=None) == problem


def test_valid_messages_pass() -> None:
    for text in (
        "",
        "Plain text with 'quotes' and '{braces}'",
        "{n, plural, =0 {none} one {# item} other {# items}}",
        "{g, select, female {sie} other {er}} hat {n, number} Punkte",
        "{n, plural, offset:1 one {{name}} other {{name} und # andere}}",
    ):
        assert check_text(text, language="de", source=None) is None, text


def test_placeholders_must_match_the_source() -> None:
    assert placeholders("Hi {name}, %s and %1$d but 100%% {n, plural, other {#}}") == {
        "{name}",
        "{n}",
        "%s",
        "%1$d",
    }
    assert check_text("Hallo", language="de", source="Hi {name}") == (
        "missing placeholder(s) {name} of the source text"
    )
    assert check_text("Hallo {name} %s", language="de", source="Hi {name}") == (
        "placeholder(s) %s not in the source text"
    )
    assert check_text("{name}, hallo", language="de", source="Hi {name}") is None


def test_a_plural_maps_to_forms_and_back() -> None:
    text = "{count, plural, one {# Datei} other {# Dateien}}"
    plural = plural_of(text)
    assert plural is not None
    assert plural.forms == {"one": "# Datei", "other": "# Dateien"}
    assert build_plural(plural.argument, plural.forms) == text
    assert plural_of("Du hast {count, plural, one {#} other {#}}") is None
    assert plural_of("{n, plural, =0 {keine} other {#}}") is None
