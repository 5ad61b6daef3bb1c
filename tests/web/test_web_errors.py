"""How protocol errors become responses."""

from __future__ import annotations

import pytest

from i18n_connect.errors import InvalidToken
from i18n_connect.web.errors import challenge_text, error_response


@pytest.mark.parametrize(
    ("description", "expected"),
    [
        ("Mint an installation token\u2026", "Mint an installation token..."),
        ('say "hi" \\ there', "say hi  there"),
        ("line\r\nbreak\ttab", "linebreaktab"),
        ("caf\u00e9 ok", "caf ok"),
    ],
    ids=["ellipsis", "quote-and-backslash", "control-characters", "non-ascii"],
)
def test_challenge_text_keeps_only_what_rfc6750_allows(description: str, expected: str) -> None:
    assert challenge_text(description) == expected


def test_invalid_token_challenge_is_a_valid_latin1_header_for_any_description() -> None:
    response = error_response(InvalidToken('Bad "token"\u2026 \u00fcber'))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == (
        'Bearer error="invalid_token", error_description="Bad token... ber"'
    )
