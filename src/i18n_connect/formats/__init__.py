"""Translation file formats for import and export (partner guide, "File formats"): each
module reads and writes one family with its library; `FORMATS` names them."""

from __future__ import annotations

from typing import Literal, get_args

from i18n_connect.errors import InvalidRequest
from i18n_connect.formats.android import ANDROID
from i18n_connect.formats.apple import APPLE_STRINGS, STRINGSDICT
from i18n_connect.formats.gettext import PO, POT
from i18n_connect.formats.jsonfiles import ARB, FLAT_JSON, NESTED_JSON
from i18n_connect.formats.model import Entry, Format, Options, Parsed, Skipped
from i18n_connect.formats.xliff import XLIFF_1_2, XLIFF_2_0
from i18n_connect.formats.yamlfile import RAILS_YAML

__all__ = ["FORMATS", "Entry", "Format", "FormatName", "Options", "Parsed", "Skipped", "get_format"]

FormatName = Literal[
    "json",
    "json-nested",
    "xliff",
    "xliff2",
    "po",
    "pot",
    "arb",
    "android",
    "strings",
    "stringsdict",
    "yaml",
]
_ALL: tuple[Format, ...] = (
    FLAT_JSON,
    NESTED_JSON,
    XLIFF_1_2,
    XLIFF_2_0,
    PO,
    POT,
    ARB,
    ANDROID,
    APPLE_STRINGS,
    STRINGSDICT,
    RAILS_YAML,
)
FORMATS: dict[str, Format] = {f.name: f for f in _ALL}
assert tuple(FORMATS) == get_args(FormatName)


def get_format(name: str) -> Format:
    """The format called ``name``; else `InvalidRequest` listing the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise InvalidRequest(f"unknown format {name!r}; use one of {', '.join(FORMATS)}") from None
