"""Security headers on every response: framing, sniffing, referrer, CSP, no-store HTML."""

from __future__ import annotations

import httpx
import pytest

EXPECTED_CSP = "default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"


@pytest.mark.parametrize(
    ("path", "status"),
    [
        ("/login", 200),
        ("/", 303),
        ("/metrics", 200),
        ("/healthz", 200),
        ("/readyz", 200),
        ("/static/app.css", 200),
        ("/no-such-page", 404),
    ],
)
async def test_every_response_carries_the_security_headers(
    app_client: httpx.AsyncClient, path: str, status: int
) -> None:
    response = await app_client.get(path)
    assert response.status_code == status
    assert response.headers["content-security-policy"] == EXPECTED_CSP
    assert "form-action" not in response.headers["content-security-policy"]
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "no-referrer"


async def test_error_pages_and_forms_are_never_cached(app_client: httpx.AsyncClient) -> None:
    await app_client.get("/login")
    forbidden = await app_client.post("/logout", data={"csrf_token": "forged"})
    assert forbidden.status_code == 403
    assert forbidden.headers["cache-control"] == "no-store"
    assert forbidden.headers["x-frame-options"] == "DENY"


async def test_stylesheet_is_served_locally_and_cacheable(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get("/static/app.css")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/css")
    assert "cache-control" not in response.headers
    assert "http://" not in response.text and "https://" not in response.text


async def test_api_explorer_is_served_from_this_site_under_a_self_only_csp(
    app_client: httpx.AsyncClient,
) -> None:
    response = await app_client.get("/docs")
    assert response.status_code == 200
    csp = response.headers["content-security-policy"]
    assert csp == (
        "default-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    )
    assert "<script>" not in response.text  # no inline script: the CSP would block it
    assert "http://" not in response.text and "https://" not in response.text
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "init.js"):
        assert f"/static/swagger-ui/{asset}" in response.text
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["cache-control"] == "no-store"
