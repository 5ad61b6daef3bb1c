"""Redirects never name the host a request claims to be for: a path that differs from a route
by its trailing slash is redirected to the issuer's URL, whatever the ``Host`` header says."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

ISSUER = "http://testserver"  # the test app's issuer
FOREIGN = {"Host": "evil.example", "X-Forwarded-Host": "evil.example"}


@pytest.mark.parametrize(
    ("method", "path", "location"),
    [
        ("GET", "/login/", f"{ISSUER}/login"),
        (
            "GET",
            "/login/?next=/settings/connected-apps",
            f"{ISSUER}/login?next=/settings/connected-apps",
        ),
        ("POST", "/mcp/", f"{ISSUER}/mcp"),
        (
            "GET",
            "/.well-known/oauth-authorization-server/",
            f"{ISSUER}/.well-known/oauth-authorization-server",
        ),
    ],
    ids=["login", "query-kept", "mcp-post", "metadata"],
)
async def test_a_trailing_slash_redirects_to_the_issuer_not_the_host_header(
    app_client: httpx.AsyncClient, method: str, path: str, location: str
) -> None:
    response = await app_client.request(method, path, headers=FOREIGN)
    assert response.status_code == 307
    assert response.headers["location"] == location


async def test_a_path_with_no_route_either_way_is_404(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get("/no-such-page/", headers=FOREIGN)
    assert response.status_code == 404
    assert "location" not in response.headers


# The browser and OAuth routes, which the OpenAPI document leaves out.
PAGES = [
    ("GET", "/"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/settings/connected-apps"),
    ("POST", "/settings/connected-apps/x/revoke"),
    ("GET", "/api/auth/mcp/authorize"),
    ("GET", "/api/auth/mcp/consent"),
    ("POST", "/api/auth/mcp/consent"),
    ("GET", "/api/auth/mcp/complete"),
    ("POST", "/api/auth/mcp/token"),
    ("POST", "/api/auth/mcp/register"),
    ("POST", "/api/auth/mcp/introspect"),
    ("POST", "/api/auth/mcp/revoke"),
    ("GET", "/api/auth/mcp/jwks"),
    ("GET", "/.well-known/oauth-authorization-server"),
    ("GET", "/.well-known/oauth-protected-resource"),
    ("GET", "/.well-known/oauth-protected-resource/mcp"),
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/mcp"),
    ("GET", "/static/app.css"),
]


def _paths(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route, parameters filled in, with and without a trailing slash."""
    documented = [
        (method.upper(), path)
        for path, operations in app.openapi()["paths"].items()
        for method in operations
    ]
    found = []
    for method, template in PAGES + documented:
        path = re.sub(r"\{[^}]+\}", "x", template)
        toggled = path.rstrip("/") if path.endswith("/") and path != "/" else path + "/"
        found += [(method, path), (method, toggled)]
    return found


async def test_no_response_to_a_foreign_host_names_it_in_a_location(
    app_client: httpx.AsyncClient,
) -> None:
    app: FastAPI = app_client.app  # type: ignore[attr-defined]
    paths = _paths(app)
    assert len(paths) > 40
    locations = []
    for method, path in paths:
        response = await app_client.request(method, path, headers=FOREIGN)
        if "location" in response.headers:
            locations.append(response.headers["location"])
    assert locations  # the sweep did meet redirects
    assert [url for url in locations if "evil" in url] == []
    assert all(url.startswith(("/", ISSUER + "/")) for url in locations)
