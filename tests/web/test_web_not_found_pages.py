"""Unknown URLs and methods: the site's HTML page for browsers, JSON for API clients."""

from __future__ import annotations

import httpx
import pytest

from i18n_connect.web.errors import prefers_html

BROWSER = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"


async def test_a_browser_gets_the_html_404_page(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get("/no-such-page", headers={"Accept": BROWSER})
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "Page not found" in response.text
    assert "Not Found" not in response.text
    assert response.headers["cache-control"] == "no-store"


async def test_a_browser_gets_the_html_405_page_with_allow(app_client: httpx.AsyncClient) -> None:
    response = await app_client.put("/login", headers={"Accept": BROWSER})
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")
    assert "This page cannot do that" in response.text
    assert "GET" in response.headers["allow"]


@pytest.mark.parametrize(
    "accept", [None, "application/json", "*/*", "text/html;q=0.5, application/json"]
)
async def test_api_clients_keep_json(app_client: httpx.AsyncClient, accept: str | None) -> None:
    headers = {"Accept": accept} if accept else {}
    response = await app_client.get("/no-such-page", headers=headers)
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", "/api/oauth-client/nothing", 404),
        ("GET", "/api/auth/mcp/token", 405),
        ("GET", "/.well-known/nothing", 404),
        ("GET", "/mcp", 405),
        ("GET", "/metrics/x", 404),
    ],
)
async def test_api_paths_answer_json_even_to_a_browser(
    app_client: httpx.AsyncClient, method: str, path: str, status: int
) -> None:
    response = await app_client.request(method, path, headers={"Accept": BROWSER})
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (BROWSER, True),
        ("text/html", True),
        ("application/json", False),
        ("*/*", False),
        ("", False),
        ("application/json, text/html;q=0.9", False),
        ("text/html;q=0, */*", False),
        ("TEXT/HTML", True),
        ("text/html;q=abc, application/json", False),
    ],
)
def test_prefers_html(accept: str, expected: bool) -> None:
    assert prefers_html(accept) is expected
