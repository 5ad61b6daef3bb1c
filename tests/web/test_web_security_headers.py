"""Security headers on every response: framing, sniffing, referrer, CSP, no-store HTML."""

from __future__ import annotations

import httpx
import pytest

EXPECTED_CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/static/app.css", "/no-such-page"])
async def test_every_response_carries_the_security_headers(
    app_client: httpx.AsyncClient, path: str
) -> None:
    response = await app_client.get(path)
    assert response.status_code == (404 if path == "/no-such-page" else 200)
    assert response.headers["content-security-policy"] == EXPECTED_CSP
    assert "form-action" not in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_stylesheet_is_served_locally_and_cacheable(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get("/static/app.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "cache-control" not in response.headers
    assert "http://" not in response.text and "https://" not in response.text


async def test_api_explorer_keeps_framing_protection_without_default_src(
    app_client: httpx.AsyncClient,
) -> None:
    response = await app_client.get("/docs")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert csp == "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
