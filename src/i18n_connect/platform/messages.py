"""ICU MessageFormat texts: syntax, plural forms and placeholders (ICU User Guide, "Formatting
Messages"; CLDR plural rules, UTS #35 Part 3 §5.1, from `babel`).

`check_text` is what every write runs: the text must parse, each plural may use
only the CLDR categories of its language (or ``=N``) and must have ``other``,
and its placeholders — ICU arguments and printf conversions like ``%s`` or
``%1$d`` — must be those of the source text. `plural_of` and `build_plural` map a
message that is one plural to its forms and back, for formats whose plurals are
native (gettext, Android, .stringsdict).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache

from babel import Locale, UnknownLocaleError

__all__ = [
    "CATEGORY_ORDER",
    "MessageError",
    "Plural",
    "build_plural",
    "check_text",
    "placeholders",
    "plural_categories",
    "plural_of",
]

CATEGORY_ORDER = ("zero", "one", "two", "few", "many", "other")
_SELECTORS = frozenset({"plural", "selectordinal", "select"})
_SIMPLE_TYPES = frozenset({"number", "date", "time", "spellout", "ordinal", "duration"})
_NAME = re.compile(r"\s*([A-Za-z0-9_][\w-]*)\s*")
_SELECTOR = re.compile(r"\s*(=\d+|[A-Za-z_][\w-]*)\s*")
_OFFSET = re.compile(r"\s*offset:\s*\d+\s*")
_PRINTF = re.compile(r"%(?:\d+\$)?[-+ 0#]*\d*(?:\.\d+)?(?:ll|l|h|z)?[sdifuxXeEgGcp@]")


class MessageError(ValueError):
    """Broken ICU syntax, with the offset of the problem in the text."""

    def __init__(self, problem: str, offset: int) -> None:
        self.problem = problem
        self.offset = offset
        super().__init__(f"{problem} at character {offset + 1}")


@dataclass(slots=True)
class _Argument:
    name: str
    kind: str  # "" for a plain {name}
    options: dict[str, list[str | _Argument]] = field(default_factory=dict)


class _Parser:
    """Recursive descent over ICU MessageFormat 1 with apostrophe quoting."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def message(self, *, in_plural: bool, nested: bool) -> list[str | _Argument]:
        parts: list[str | _Argument] = []
        literal: list[str] = []
        text = self.text
        while self.at < len(text):
            char = text[self.at]
            if char == "'":
                literal.append(self._quoted(in_plural))
            elif char == "{":
                if literal:
                    parts.append("".join(literal))
                    literal = []
                parts.append(self._argument())
            elif char == "}":
                if not nested:
                    raise MessageError("unmatched '}'", self.at)
                break
            else:
                literal.append(char)
                self.at += 1
        else:
            if nested:
                raise MessageError("unclosed '{'", len(text))
        if literal:
            parts.append("".join(literal))
        return parts

    def _quoted(self, in_plural: bool) -> str:
        text, start = self.text, self.at
        if text.startswith("''", start):
            self.at += 2
            return "'"
        special = "{}#|" if in_plural else "{}|"
        if start + 1 >= len(text) or text[start + 1] not in special:
            self.at += 1
            return "'"
        end = start + 1
        chunk: list[str] = []
        while end < len(text):
            if text.startswith("''", end):
                chunk.append("'")
                end += 2
            elif text[end] == "'":
                self.at = end + 1
                return "".join(chunk)
            else:
                chunk.append(text[end])
                end += 1
        self.at = len(text)  # a quote left open runs to the end (ICU)
        return "".join(chunk)

    def _expect(self, pattern: re.Pattern[str], what: str) -> str:
        match = pattern.match(self.text, self.at)
        if match is None:
            if not self.text[self.at :].strip():
                raise MessageError("unclosed '{'", len(self.text))
            raise MessageError(f"expected {what}", self.at)
        self.at = match.end()
        return match.group(1) if match.groups() else match.group(0)

    def _argument(self) -> _Argument:
        self.at += 1  # "{"
        name = self._expect(_NAME, "an argument name")
        if self._take("}"):
            return _Argument(name, "")
        if not self._take(","):
            if self.at >= len(self.text):
                raise MessageError("unclosed '{'", self.at)
            raise MessageError(f"expected ',' or '}}' after {name!r}", self.at)
        kind = self._expect(_NAME, "an argument type")
        if kind in _SELECTORS:
            if not self._take(","):
                raise MessageError(f"expected ',' after {kind!r}", self.at)
            return _Argument(name, kind, self._options(kind))
        if kind not in _SIMPLE_TYPES:
            raise MessageError(f"unknown argument type {kind!r}", self.at)
        if self._take(","):
            end = self.text.find("}", self.at)
            if end < 0:
                raise MessageError("unclosed '{'", len(self.text))
            self.at = end
        if not self._take("}"):
            raise MessageError(f"expected '}}' after {kind!r}", self.at)
        return _Argument(name, kind)

    def _options(self, kind: str) -> dict[str, list[str | _Argument]]:
        if kind != "select" and _OFFSET.match(self.text, self.at):
            self._expect(_OFFSET, "an offset")
        options: dict[str, list[str | _Argument]] = {}
        while not self._take("}"):
            selector = self._expect(_SELECTOR, "a selector")
            if selector in options:
                raise MessageError(f"the selector {selector!r} appears twice", self.at)
            if not self._take("{"):
                raise MessageError(f"expected '{{' after {selector!r}", self.at)
            options[selector] = self.message(in_plural=kind != "select", nested=True)
            self.at += 1  # "}"
        if "other" not in options:
            raise MessageError(f"a {kind} needs an 'other' option", self.at)
        return options

    def _take(self, char: str) -> bool:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1
        if self.text.startswith(char, self.at):
            self.at += 1
            return True
        return False


def _parse(text: str) -> list[str | _Argument]:
    return _Parser(text).message(in_plural=False, nested=False)


@cache
def plural_categories(language: str) -> tuple[str, ...]:
    """The CLDR plural categories of ``language`` in CLDR order (all six for a language CLDR
    does not know, rather than refusing its plurals)."""
    try:
        tags = Locale.parse(language.replace("-", "_")).plural_form.tags
    except (UnknownLocaleError, ValueError):
        return CATEGORY_ORDER
    return tuple(tag for tag in CATEGORY_ORDER if tag in tags or tag == "other")


def _walk(parts: list[str | _Argument]) -> list[_Argument]:
    found: list[_Argument] = []
    for part in parts:
        if isinstance(part, _Argument):
            found.append(part)
            for option in part.options.values():
                found.extend(_walk(option))
    return found


def placeholders(text: str) -> set[str]:
    """The ICU argument names (``{count}``) and printf conversions (``%s``) of ``text``."""
    try:
        parts = _parse(text)
    except MessageError:
        return set()
    names = {"{" + argument.name + "}" for argument in _walk(parts)}
    literal = "".join(_literals(parts))
    return names | set(_PRINTF.findall(literal.replace("%%", "")))


def _literals(parts: list[str | _Argument]) -> list[str]:
    out: list[str] = []
    for part in parts:
        if isinstance(part, str):
            out.append(part)
        else:
            for option in part.options.values():
                out.extend(_literals(option))
    return out


def check_text(text: str, *, language: str, source: str | None) -> str | None:
    """The problem with ``text`` as a translation into ``language``, or ``None``."""
    try:
        parts = _parse(text)
    except MessageError as error:
        return f"broken ICU MessageFormat: {error}"
    allowed = plural_categories(language)
    for argument in _walk(parts):
        if argument.kind != "plural":
            continue
        wrong = [s for s in argument.options if not s.startswith("=") and s not in allowed]
        if wrong:
            return (
                f"the plural {argument.name!r} uses {', '.join(wrong)}; "
                f"{language} has {', '.join(allowed)}"
            )
    if source is None:
        return None
    mine, theirs = placeholders(text), placeholders(source)
    if missing := sorted(theirs - mine):
        return f"missing placeholder(s) {', '.join(missing)} of the source text"
    if extra := sorted(mine - theirs):
        return f"placeholder(s) {', '.join(extra)} not in the source text"
    return None


@dataclass(frozen=True, slots=True)
class Plural:
    """A message that is exactly one plural: its argument and text per category."""

    argument: str
    forms: dict[str, str]


def plural_of(text: str) -> Plural | None:
    """The plural ``text`` is, when it is one ``{n, plural, …}`` and nothing else."""
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")) or stripped != text:
        return None
    try:
        parser = _Parser(text)
        parts = parser.message(in_plural=False, nested=False)
    except MessageError:
        return None
    if len(parts) != 1 or not isinstance(parts[0], _Argument) or parts[0].kind != "plural":
        return None
    if any(not category.isalpha() for category in parts[0].options):
        return None  # =N options have no native form
    spans = _option_spans(text)
    return Plural(parts[0].name, spans)


def _option_spans(text: str) -> dict[str, str]:
    """The raw text of each option of the one plural in ``text`` (kept as written)."""
    parser = _Parser(text)
    parser.at = 1
    parser._expect(_NAME, "an argument name")
    parser._take(",")
    parser._expect(_NAME, "plural")
    parser._take(",")
    if _OFFSET.match(text, parser.at):
        parser._expect(_OFFSET, "an offset")
    spans: dict[str, str] = {}
    while not parser._take("}"):
        selector = parser._expect(_SELECTOR, "a selector")
        parser._take("{")
        start = parser.at
        parser.message(in_plural=True, nested=True)
        spans[selector] = text[start : parser.at]
        parser.at += 1
    return spans


def build_plural(argument: str, forms: dict[str, str]) -> str:
    """``{argument, plural, one {…} other {…}}`` with the forms in CLDR order."""
    ordered = [c for c in CATEGORY_ORDER if c in forms] + [
        c for c in forms if c not in CATEGORY_ORDER
    ]
    body = " ".join(f"{category} {{{forms[category]}}}" for category in ordered)
    return f"{{{argument}, plural, {body}}}"
