"""The installation token of a request's headers: the first ``Authorization: Bearer`` and the
first ``x-api-key``, exactly as `Request.headers` finds them, malformed ones refused alike."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from i18n_connect.api.auth import MINT_HINT, presented_token
from i18n_connect.errors import InvalidToken

TOKEN = "bi_oat_" + "a" * 43
OTHER = "bi_oat_" + "b" * 43


def _request(*headers: tuple[bytes, bytes]) -> Request:
    return Request({"type": "http", "method": "GET", "path": "/", "headers": list(headers)})


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        ([(b"authorization", b"Bearer " + TOKEN.encode())], TOKEN),
        ([(b"authorization", b"bearer " + TOKEN.encode())], TOKEN),
        ([(b"x-api-key", TOKEN.encode())], TOKEN),
        ([(b"x-api-key", b"  " + TOKEN.encode() + b" ")], TOKEN),
        ([(b"authorization", b"Bearer " + TOKEN.encode()), (b"x-api-key", OTHER.encode())], TOKEN),
        ([(b"authorization", b"Basic " + TOKEN.encode()), (b"x-api-key", OTHER.encode())], OTHER),
        (
            [(b"authorization", b"Bearer " + TOKEN.encode()), (b"authorization", b"Bearer x")],
            TOKEN,
        ),
        ([(b"x-api-key", b""), (b"x-api-key", OTHER.encode())], None),
        ([(b"x-api-key", TOKEN.encode()), (b"x-api-key", OTHER.encode())], TOKEN),
        ([(b"authorization", b"Bearer"), (b"x-api-key", OTHER.encode())], OTHER),
    ],
    ids=[
        "bearer",
        "lowercase-scheme",
        "api-key",
        "api-key-spaces",
        "bearer-first",
        "basic-then-api-key",
        "first-authorization",
        "empty-first-api-key",
        "first-api-key",
        "bearer-without-credentials",
    ],
)
def test_the_token_is_found_as_the_request_headers_find_it(
    headers: list[tuple[bytes, bytes]], expected: str | None
) -> None:
    request = _request(*headers)
    if expected is None:
        with pytest.raises(InvalidToken):
            presented_token(request)
        return
    assert presented_token(request) == expected


@pytest.mark.parametrize(
    ("headers", "description"),
    [
        ([], "An installation token is required (Authorization: Bearer or x-api-key)."),
        ([(b"authorization", b"Bearer a.b.c")], MINT_HINT),
        ([(b"x-api-key", b"not-a-token")], None),
        ([(b"authorization", b"Bearer " + b"\xe9" * 8)], None),
    ],
    ids=["none", "jwt", "foreign", "latin-1"],
)
def test_a_missing_or_foreign_token_is_refused(
    headers: list[tuple[bytes, bytes]], description: str | None
) -> None:
    with pytest.raises(InvalidToken) as refused:
        presented_token(_request(*headers))
    if description is not None:
        assert refused.value.description == description
