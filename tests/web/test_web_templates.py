"""The shared page renderer: autoescaping, the signed-in header, the HTML error page."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import Request

from i18n_connect.platform.accounts import User
from i18n_connect.web.templates import render, render_error


def _request() -> Request:
    return Request(
        {"type": "http", "method": "GET", "path": "/", "headers": [], "query_string": b""}
    )


def test_error_page_escapes_its_text_and_keeps_its_status() -> None:
    response = render_error(
        _request(), 400, "Unknown <client>", "client_id=<script>alert(1)</script>"
    )
    body = bytes(response.body).decode()
    assert response.status_code == 400
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    assert "location" not in response.headers
    assert "<script>alert(1)</script>" not in body
    assert "client_id=&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert '<h1 id="error-title">Unknown &lt;client&gt;</h1>' in body
    assert 'href="/static/app.css' in body
    assert "Sign out" not in body


def test_error_page_carries_extra_headers() -> None:
    response = render_error(_request(), 429, "Slow down", "Wait.", headers={"Retry-After": "7"})
    assert response.status_code == 429
    assert response.headers["retry-after"] == "7"


def test_signed_in_header_shows_email_and_sign_out_form_with_csrf_token() -> None:
    user = User("usr_1", "ada@example.com", "Ada", datetime(2026, 1, 1, tzinfo=UTC))
    response = render(
        _request(),
        "error.html",
        {"user": user, "csrf_token": "tok-123", "status": 404, "title": "T", "message": "M"},
        status_code=404,
    )
    body = bytes(response.body).decode()
    assert "ada@example.com" in body
    assert '<form class="account__signout" method="post" action="/logout">' in body
    assert 'name="csrf_token" value="tok-123"' in body
    assert 'href="/settings/connected-apps"' in body
