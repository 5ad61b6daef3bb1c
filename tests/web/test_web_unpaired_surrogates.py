"""The last line behind the JSON checks (`unicode_text`): text with an unpaired surrogate that
reaches UTF-8 anyway — a ``multipart/form-data`` body whose ``charset`` parameter names UTF-7,
which Starlette decodes by — is 400 ``invalid_request``, not a 500 (SQLite's driver and the
code's own encodings) or a 503 (PostgreSQL's driver)."""

from __future__ import annotations

import httpx
import pytest

REFUSED = {
    "error": "invalid_request",
    "error_description": (
        "The request body holds text that is not valid Unicode (an unpaired surrogate)."
    ),
}


def _utf7_form(**fields: bytes) -> tuple[bytes, dict[str, str]]:
    parts = b"".join(
        b'--XX\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (name.encode(), value)
        for name, value in fields.items()
    )
    headers = {"Content-Type": "multipart/form-data; charset=utf-7; boundary=XX"}
    return parts + b"--XX--\r\n", headers


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"email": b"+2AA-@example.com"}, id="encoded-by-the-code"),
        pytest.param(
            {"next": b"/api/auth/mcp/authorize?client_id=cli_+2AA-&redirect_uri=x"},
            id="bound-by-the-driver",
        ),
    ],
)
async def test_an_unpaired_surrogate_that_reaches_utf_8_is_invalid_request(
    app_client: httpx.AsyncClient, fields: dict[str, bytes]
) -> None:
    content, headers = _utf7_form(**fields)
    response = await app_client.post("/login", content=content, headers=headers)
    assert (response.status_code, response.json()) == (400, REFUSED)
