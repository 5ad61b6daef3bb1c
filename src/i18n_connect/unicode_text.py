"""Text that UTF-8 cannot hold: an unpaired surrogate (a code point U+D800-U+DFFF alone).

JSON lets a string escape one (``"\\ud800"``; RFC 8259 §8.2 leaves what a receiver does with
it unpredictable) and `json.loads` decodes it, as it decodes the bytes ED A0 80-ED BF BF of a
body (it decodes with ``surrogatepass``); but no database driver can bind such a string, nor
a UTF-8 log line hold it. So every JSON body a client sends is parsed with `json_loads`, which
refuses one with `UnpairedSurrogate`, and its route answers 400 with `UNPAIRED_SURROGATE`
before anything runs. A paired escape (``"\\ud83d\\ude00"``, one emoji) is one character once
decoded, and an escaped backslash (``"\\\\ud800"``) is plain text: both are accepted.
"""

from __future__ import annotations

import codecs
import json
import re
from typing import Any

__all__ = [
    "UNPAIRED_SURROGATE",
    "UnpairedSurrogate",
    "holds_unpaired_surrogate",
    "joined_pairs",
    "json_holds_unpaired_surrogate",
    "json_loads",
    "may_hold_surrogates",
]

UNPAIRED_SURROGATE = (
    "The request body holds text that is not valid Unicode (an unpaired surrogate)."
)
# In UTF-8 JSON, the only ways to a surrogate: an escape \uD800-\uDFFF, or its UTF-8-like bytes
# (two patterns, each with a literal start that re finds fast, where one alternation is slow).
_ESCAPED = re.compile(rb"\\u[dD][89a-fA-F]")
_ENCODED = re.compile(rb"\xed[\xa0-\xbf]")
_SURROGATE = re.compile("[\ud800-\udfff]")
_UTF_16_BOMS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)  # UTF-32's start alike, or with a NUL


class UnpairedSurrogate(ValueError):
    """A JSON text whose decoded value holds an unpaired surrogate."""

    def __init__(self) -> None:
        super().__init__(UNPAIRED_SURROGATE)


def may_hold_surrogates(raw: bytes) -> bool:
    """Whether ``json.loads(raw)`` may give a string with a surrogate: UTF-8 JSON (the usual
    case) only through the bytes `_ESCAPED` or `_ENCODED` find; UTF-16 or UTF-32 JSON (RFC 8259
    §8.1 allows neither, `json.loads` reads both) always."""
    start = raw[:4]  # where `json.detect_encoding` tells them apart: a NUL or a UTF-16 BOM
    if b"\x00" in start or start.startswith(_UTF_16_BOMS):
        return True
    return (b"\\" in raw and _ESCAPED.search(raw) is not None) or (
        b"\xed" in raw and _ENCODED.search(raw) is not None
    )


def holds_unpaired_surrogate(value: object) -> bool:
    """Whether any string of a decoded JSON value (object keys too) holds a surrogate; as
    `json.loads` joins each escaped pair into one character, any left is unpaired."""
    stack = [value]
    while stack:  # not recursive: a body nested as deep as json.loads reads is fine
        item = stack.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item) is not None:
                return True
        elif isinstance(item, dict):
            stack.extend(item)
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)
    return False


def json_holds_unpaired_surrogate(raw: bytes) -> bool:
    """Whether ``raw`` is JSON whose decoded value holds an unpaired surrogate; a body that is
    no JSON is not, and is left to its parser's own error."""
    if not may_hold_surrogates(raw):
        return False
    try:
        return holds_unpaired_surrogate(json.loads(raw))
    except (ValueError, RecursionError):
        return False


def json_loads(raw: bytes, **options: Any) -> Any:
    """``json.loads(raw, **options)`` (its errors as they are), or `UnpairedSurrogate`."""
    value = json.loads(raw, **options)
    if may_hold_surrogates(raw) and holds_unpaired_surrogate(value):
        raise UnpairedSurrogate()
    return value


def joined_pairs(text: str) -> str:
    """``text`` with each surrogate pair made the one character it encodes in UTF-16 (as the
    ``\\uXXXX`` escapes of Android and Apple string files give characters beyond U+FFFF);
    an unpaired surrogate stays, for `holds_unpaired_surrogate` to find."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")
