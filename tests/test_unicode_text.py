"""`unicode_text`: which JSON texts hold an unpaired surrogate, without false refusals."""

from __future__ import annotations

import json

import pytest

from i18n_connect.unicode_text import (
    UnpairedSurrogate,
    holds_unpaired_surrogate,
    joined_pairs,
    json_holds_unpaired_surrogate,
    json_loads,
    may_hold_surrogates,
)


@pytest.mark.parametrize(
    "raw",
    [
        pytest.param(b'"\\ud800"', id="high"),
        pytest.param(b'"\\uDFFF"', id="low-upper-case"),
        pytest.param(b'"\\ude00\\ud83d"', id="swapped-pair"),
        pytest.param(b'"\\ud83d x"', id="high-then-text"),
        pytest.param(b'"\\\\\\ud800"', id="escaped-backslash-then-escape"),
        pytest.param(b'"\xed\xa0\x80"', id="utf-8-like-bytes"),
        pytest.param(b'"\\ud83d\xed\xb8\x80"', id="escape-then-bytes"),
        pytest.param(b'{"\\ud800": 1}', id="object-key"),
        pytest.param(b"[" * 500 + b'"\\ud800"' + b"]" * 500, id="deep"),
        pytest.param('"\\ud800"'.encode("utf-16"), id="utf-16-escape"),
        pytest.param('"\\ud800"'.encode("utf-32-le"), id="utf-32-escape"),
        pytest.param('"\ud800"'.encode("utf-16-le", "surrogatepass"), id="utf-16"),
    ],
)
def test_unpaired_surrogates_are_refused(raw: bytes) -> None:
    assert may_hold_surrogates(raw)
    with pytest.raises(UnpairedSurrogate, match="not valid Unicode"):
        json_loads(raw)


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        pytest.param(b'"\\ud83d\\ude00"', "\U0001f600", id="paired-escape"),
        pytest.param(b'"\\uD83D\\uDE00"', "\U0001f600", id="paired-escape-upper-case"),
        pytest.param(b'"\\\\ud800"', "\\ud800", id="escaped-backslash"),
        pytest.param(b'"\\\\\\\\ud800"', "\\\\ud800", id="two-escaped-backslashes"),
        pytest.param(b'"\\ud7ff\\ue000"', "\ud7ff\ue000", id="around-the-range"),
        pytest.param('"\ud55c\U0001f600"'.encode(), "\ud55c\U0001f600", id="utf-8-hangul-emoji"),
        pytest.param('"\\ud83d\\ude00"'.encode("utf-16"), "\U0001f600", id="utf-16-pair"),
    ],
)
def test_text_is_accepted(raw: bytes, value: str) -> None:
    assert json_loads(raw) == json.loads(raw) == value


@pytest.mark.parametrize("raw", [b"{}", b'{"a": "\\u00e9"}', '"\ud55c"'.encode(), b'"\\u0041"'])
def test_a_body_without_the_bytes_of_a_surrogate_is_not_scanned(raw: bytes) -> None:
    assert not may_hold_surrogates(raw)


@pytest.mark.parametrize(
    ("raw", "holds"),
    [
        pytest.param(b'{"a": "\\ud800"}', True, id="unpaired"),
        pytest.param(b'{"a": "\\ud83d\\ude00"}', False, id="paired"),
        pytest.param(b'{"a": "\\ud800"', False, id="not-json"),
        pytest.param(b'"\\\\ud800"', False, id="escaped-backslash"),
    ],
)
def test_json_holds_unpaired_surrogate_leaves_what_is_no_json_to_its_parser(
    raw: bytes, holds: bool
) -> None:
    assert json_holds_unpaired_surrogate(raw) is holds


def test_decoded_values_are_walked_without_recursion() -> None:
    value: object = "\ud800"
    for _ in range(100_000):
        value = [{"k": value}]
    assert holds_unpaired_surrogate(value)
    assert not holds_unpaired_surrogate([("a", 1), {"b": None}, 2.5, True])


def test_joined_pairs_joins_utf_16_pairs_and_keeps_unpaired_halves() -> None:
    assert joined_pairs("a\ud83d\ude00b") == "a\U0001f600b"
    assert joined_pairs("\ude00\ud83d") == "\ude00\ud83d"
    assert joined_pairs("plain") == "plain"
