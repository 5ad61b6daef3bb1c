"""Local-only `next` targets and the redirect that sends a visitor to sign in and back."""

from __future__ import annotations

import pytest
from fastapi import Request

from i18n_connect.web.identity import login_redirect, safe_next


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("/", "/"),
        ("/settings/connected-apps", "/settings/connected-apps"),
        ("/a?b=c&d=%2F%2F", "/a?b=c&d=%2F%2F"),
        (None, "/"),
        ("", "/"),
        ("//evil.example", "/"),
        ("///evil.example", "/"),
        ("https://evil.example/", "/"),
        ("/\\evil.example", "/"),
        ("\\\\evil.example", "/"),
        ("javascript:alert(1)", "/"),
        ("evil.example", "/"),
        ("/\nLocation: x", "/"),
        ("/\x7f", "/"),
    ],
)
def test_safe_next_keeps_only_paths_of_this_site(target: str | None, expected: str) -> None:
    assert safe_next(target) == expected


def test_login_redirect_comes_back_to_the_current_url() -> None:
    request = Request(
        {
            "type": "http",
            "method": "GET",
            "scheme": "http",
            "server": ("testserver", 80),
            "path": "/settings/connected-apps",
            "query_string": b"tab=all&x=1",
            "headers": [(b"host", b"testserver")],
        }
    )
    response = login_redirect(request)
    assert response.status_code == 303
    assert (
        response.headers["location"] == "/login?next=/settings/connected-apps%3Ftab%3Dall%26x%3D1"
    )
