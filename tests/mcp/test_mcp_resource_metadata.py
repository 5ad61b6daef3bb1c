"""Protected resource metadata (RFC 9728) of the partner API and the MCP server, consistent
with the authorization server metadata."""

from __future__ import annotations

import httpx
import pytest

from i18n_connect.scopes import CATALOG


@pytest.mark.parametrize(
    ("path", "resource", "name"),
    [
        (
            "/.well-known/oauth-protected-resource",
            "http://testserver/api/oauth-client",
            "i18n-connect partner API",
        ),
        (
            "/.well-known/oauth-protected-resource/api/oauth-client",
            "http://testserver/api/oauth-client",
            "i18n-connect partner API",
        ),
        (
            "/.well-known/oauth-protected-resource/mcp",
            "http://testserver/mcp",
            "i18n-connect MCP server",
        ),
    ],
)
async def test_resource_metadata_documents(
    running_app: httpx.AsyncClient, path: str, resource: str, name: str
) -> None:
    response = await running_app.get(path)
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {
        "resource": resource,
        "authorization_servers": ["http://testserver"],
        "scopes_supported": list(CATALOG),
        "bearer_methods_supported": ["header"],
        "resource_name": name,
        "resource_documentation": "http://testserver/docs",
    }


async def test_resource_metadata_agrees_with_authorization_server_metadata(
    running_app: httpx.AsyncClient,
) -> None:
    authorization_server = (await running_app.get("/.well-known/oauth-authorization-server")).json()
    for path in (
        "/.well-known/oauth-protected-resource",
        "/.well-known/oauth-protected-resource/mcp",
    ):
        resource = (await running_app.get(path)).json()
        assert resource["authorization_servers"] == [authorization_server["issuer"]]
        assert set(resource["scopes_supported"]) <= set(authorization_server["scopes_supported"])
    assert authorization_server["client_id_metadata_document_supported"] is True
    assert authorization_server["authorization_response_iss_parameter_supported"] is True
    assert authorization_server["registration_endpoint"] == (
        "http://testserver/api/auth/mcp/register"
    )
    assert authorization_server["revocation_endpoint"] == "http://testserver/api/auth/mcp/revoke"
    assert authorization_server["introspection_endpoint"] == (
        "http://testserver/api/auth/mcp/introspect"
    )


async def test_resource_metadata_follows_the_configured_issuer(app_with: object) -> None:
    async with app_with(issuer="https://i18n.example.com") as client:  # type: ignore[operator]
        body = (await client.get("/.well-known/oauth-protected-resource/mcp")).json()
    assert body["resource"] == "https://i18n.example.com/mcp"
    assert body["authorization_servers"] == ["https://i18n.example.com"]
