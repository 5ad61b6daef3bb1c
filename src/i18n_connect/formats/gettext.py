"""GNU gettext catalogs, PO and POT (GNU gettext manual §3 "The Format of PO Files"), read and
written with `polib`.

A key is the ``msgid``; its description is the extracted comment (``#.``). An
empty ``msgstr`` means untranslated, and a POT lists every key untranslated (and
singular: the template carries no texts to tell a plural). A
plural is ``msgid_plural`` with one ``msgstr[i]`` per CLDR category of the
language, in CLDR order — the indices of the ``Plural-Forms`` expression that
`babel` derives from the same rules; read back, the forms become an ICU plural
over the argument ``count``. Fuzzy and obsolete entries are skipped on import.
The header carries no dates, so the same catalog renders to the same bytes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import polib
from babel import Locale, UnknownLocaleError
from babel.plural import to_gettext

from i18n_connect.errors import MalformedFile
from i18n_connect.formats.model import Entry, Options, Parsed, Skipped, decode
from i18n_connect.platform.messages import build_plural, plural_categories, plural_of

__all__ = ["PO", "POT"]

PLURAL_ARGUMENT = "count"
_LINE = re.compile(r"line (\d+)")


def _plural_forms(language: str) -> str:
    try:
        return to_gettext(Locale.parse(language.replace("-", "_")).plural_form)
    except (UnknownLocaleError, ValueError):  # all six categories (messages.plural_categories)
        return "nplurals=6; plural=(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : 5);"


class _Gettext:
    media_type = "text/x-gettext-translation"

    def __init__(self, name: str, *, template: bool) -> None:
        self.name = self.extension = name
        self.template = template

    def render(self, entries: Sequence[Entry], options: Options) -> bytes:
        catalog = polib.POFile(wrapwidth=0)
        catalog.metadata = {
            "MIME-Version": "1.0",
            "Content-Type": "text/plain; charset=UTF-8",
            "Content-Transfer-Encoding": "8bit",
        }
        if not self.template:
            catalog.metadata["Language"] = options.language
        catalog.metadata["Plural-Forms"] = _plural_forms(options.language)
        categories = plural_categories(options.language)
        for entry in entries:
            text = None if self.template else entry.text
            plural = plural_of(text) if text is not None else None
            if plural is not None:
                forms = plural.forms
                catalog.append(
                    polib.POEntry(
                        msgid=entry.key,
                        msgid_plural=entry.key,
                        msgstr_plural={
                            i: forms.get(category, "") for i, category in enumerate(categories)
                        },
                        comment=entry.comment,
                    )
                )
            else:
                catalog.append(
                    polib.POEntry(msgid=entry.key, msgstr=text or "", comment=entry.comment)
                )
        return str(catalog).encode()

    def parse(self, data: bytes, options: Options) -> Parsed:
        try:
            catalog = polib.pofile(decode(data), wrapwidth=0)
        except OSError as error:
            match = _LINE.search(str(error))
            raise MalformedFile(
                f"invalid PO file: {error}", line=int(match.group(1)) if match else None
            ) from None
        parsed = Parsed()
        categories = plural_categories(options.language)
        for unit in catalog:
            if unit.obsolete or not unit.msgid:
                continue
            if unit.fuzzy:
                parsed.skipped.append(Skipped(unit.msgid, "fuzzy", unit.linenum))
                continue
            text: str | None
            if unit.msgid_plural:
                forms = {
                    category: unit.msgstr_plural.get(i, "") for i, category in enumerate(categories)
                }
                text = build_plural(PLURAL_ARGUMENT, forms) if any(forms.values()) else None
            else:
                text = unit.msgstr or None
            parsed.entries.append(
                Entry(unit.msgid, text, comment=unit.comment or "", line=unit.linenum)
            )
        return parsed


PO = _Gettext("po", template=False)
POT = _Gettext("pot", template=True)
