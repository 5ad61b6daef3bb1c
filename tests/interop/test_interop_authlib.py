"""Authlib against a real server: its RFC 8414 validator accepts our metadata, and its
``AsyncOAuth2Client`` does code + PKCE with ``resource`` (RFC 8707), client_secret_basic,
a refresh, and token introspection."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from authlib.common.security import generate_token
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from interop_server import LiveServer, Person, live_server

from i18n_connect.oauth.metadata import authorization_server_metadata
from i18n_connect.settings import Settings

REDIRECT_URI = "http://127.0.0.1:8765/oauth/callback"


@pytest.fixture
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[LiveServer]:
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")  # the test server is plain http
    with live_server(tmp_path) as running:
        yield running


def test_authlib_validates_the_metadata_of_an_https_deployment() -> None:
    settings = Settings(
        database_url="sqlite:///unused.db",
        issuer="https://i18n.example.com",
        secret_key="x" * 40,
    )
    metadata = AuthorizationServerMetadata(authorization_server_metadata(settings))
    metadata.validate()  # raises on any violation of RFC 8414
    assert metadata["issuer"] == "https://i18n.example.com"


async def test_authlib_validates_the_served_metadata_fields(server: LiveServer) -> None:
    async with httpx.AsyncClient() as http:
        served = (await http.get(server.url + "/.well-known/oauth-authorization-server")).json()
    metadata = AuthorizationServerMetadata(served)
    # Every check except the https-only ones, which a loopback test server cannot pass.
    for name in dir(metadata):
        if name.startswith("validate_") and name not in {
            "validate_issuer",
            "validate_jwks_uri",
            "validate_registration_endpoint",
            "validate_op_policy_uri",
            "validate_op_tos_uri",
            "validate_service_documentation",
        }:
            getattr(metadata, name)()
    assert served["issuer"] == server.url


async def register(server: LiveServer) -> dict[str, Any]:
    async with httpx.AsyncClient() as http:
        response = await http.post(
            server.url + "/api/auth/mcp/register",
            json={"client_name": "Authlib partner", "redirect_uris": [REDIRECT_URI]},
        )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_authlib_code_pkce_resource_refresh_and_introspection(
    server: LiveServer, person: Person
) -> None:
    registration = await register(server)
    assert registration["token_endpoint_auth_method"] == "client_secret_basic"
    async with httpx.AsyncClient() as http:
        metadata = (await http.get(server.url + "/.well-known/oauth-authorization-server")).json()
    mcp_resource = server.url + "/mcp"
    async with AsyncOAuth2Client(
        client_id=registration["client_id"],
        client_secret=registration["client_secret"],
        token_endpoint_auth_method="client_secret_basic",
        redirect_uri=REDIRECT_URI,
        scope="projects:read keys:read",
        code_challenge_method="S256",
    ) as oauth:
        verifier = generate_token(64)
        url, state = oauth.create_authorization_url(
            metadata["authorization_endpoint"], code_verifier=verifier, resource=mcp_resource
        )
        consented = await person.approve(url, REDIRECT_URI)
        assert consented.state == state
        assert consented.iss == metadata["issuer"]  # RFC 9207
        token = await oauth.fetch_token(
            metadata["token_endpoint"],
            authorization_response=consented.redirect,
            code_verifier=verifier,
            resource=mcp_resource,
        )
        assert token["token_type"] == "Bearer"
        assert token["expires_in"] == 1800
        assert token["scope"] == "projects:read keys:read"
        assert token["refresh_token"].startswith("rt_")

        async with httpx.AsyncClient() as http:
            mcp = await http.post(
                server.url + "/mcp",
                json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
                headers={
                    "authorization": f"Bearer {token['access_token']}",
                    "accept": "application/json, text/event-stream",
                    "mcp-protocol-version": "2025-11-25",
                },
            )
        assert mcp.status_code == 200

        refreshed = await oauth.refresh_token(
            metadata["token_endpoint"], refresh_token=token["refresh_token"], resource=mcp_resource
        )
        assert refreshed["refresh_token"] != token["refresh_token"]
        assert refreshed["grant_id"] == token["grant_id"]

        introspection = await oauth.post(
            metadata["introspection_endpoint"],
            data={"token": refreshed["access_token"], "token_type_hint": "access_token"},
            auth=(registration["client_id"], registration["client_secret"]),
        )
        body = introspection.json()
        assert body["active"] is True
        assert (body["aud"], body["client_id"]) == (mcp_resource, registration["client_id"])
        old = await oauth.post(
            metadata["introspection_endpoint"],
            data={"token": token["refresh_token"]},
            auth=(registration["client_id"], registration["client_secret"]),
        )
        # The used refresh token stays active while its successor is unused (retry window).
        assert (old.json()["active"], old.json()["token_type"]) == (True, "refresh_token")
