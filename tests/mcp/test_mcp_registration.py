"""POST /api/auth/mcp/register (RFC 7591): accepted clients, refused metadata with exact
errors, and the rate limit and switch."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from i18n_connect.storage.oauth_tables import oauth_clients

REGISTER = "/api/auth/mcp/register"
GOOD_URI = "http://127.0.0.1:33418/callback"


async def client_count(client: httpx.AsyncClient) -> int:
    services = client.app.state.services  # type: ignore[attr-defined]
    async with services.db.transaction(readonly=True) as conn:
        return int(await conn.scalar(select(func.count()).select_from(oauth_clients)) or 0)


async def stored(client: httpx.AsyncClient, client_id: str) -> Any:
    services = client.app.state.services  # type: ignore[attr-defined]
    async with services.db.transaction(readonly=True) as conn:
        return (
            await conn.execute(select(oauth_clients).where(oauth_clients.c.id == client_id))
        ).one()


@pytest.mark.parametrize(
    "redirect_uri",
    [
        pytest.param("http://127.0.0.1:33418/callback", id="loopback-ipv4-any-port"),
        pytest.param("http://localhost:6274/oauth/callback", id="loopback-name"),
        pytest.param("http://[::1]:8080/cb", id="loopback-ipv6"),
        pytest.param("https://claude.ai/api/mcp/auth_callback", id="claude-ai"),
        pytest.param("https://claude.com/api/mcp/auth_callback", id="claude-com"),
        pytest.param("http://127.0.0.1:33418/", id="vscode-loopback"),
        pytest.param("https://vscode.dev/redirect", id="vscode-dev"),
        pytest.param("http://localhost:54321/callback", id="claude-code-loopback"),
        pytest.param("https://chatgpt.com/connector_platform_oauth_redirect", id="chatgpt"),
        pytest.param("cursor://anysphere.cursor-retrieval/oauth/user-i18n/callback", id="cursor"),
        pytest.param("vscode://vscode.github-authentication/did-authenticate", id="vscode"),
        pytest.param("com.example.app:/oauth2redirect", id="reverse-domain-scheme"),
    ],
)
async def test_public_client_registers_with_accepted_redirect_uri(
    running_app: httpx.AsyncClient, redirect_uri: str
) -> None:
    response = await running_app.post(
        REGISTER,
        json={
            "client_name": "Agent",
            "redirect_uris": [redirect_uri],
            "token_endpoint_auth_method": "none",
        },
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["cache-control"] == "no-store"
    assert body["client_id"].startswith("cli_")
    assert "client_secret" not in body
    assert body["client_secret_expires_at"] == 0
    assert body["token_endpoint_auth_method"] == "none"
    assert body["redirect_uris"] == [redirect_uri]
    assert body["grant_types"] == ["authorization_code", "refresh_token"]
    assert body["response_types"] == ["code"]
    assert body["client_name"] == "Agent"
    assert isinstance(body["client_id_issued_at"], int)
    row = await stored(running_app, body["client_id"])
    assert (row.origin, row.verified, row.secret_hash) == ("registration", False, None)
    assert row.redirect_uris == [redirect_uri]


async def test_client_without_auth_method_is_confidential_with_basic(
    running_app: httpx.AsyncClient,
) -> None:
    response = await running_app.post(REGISTER, json={"redirect_uris": [GOOD_URI]})
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"  # it carries the client secret
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["client_secret"].startswith("cs_")
    assert body["client_secret_expires_at"] == 0
    assert body["client_name"] == "Unnamed app"
    row = await stored(running_app, body["client_id"])
    services = running_app.app.state.services  # type: ignore[attr-defined]
    assert services.hasher.matches(body["client_secret"], row.secret_hash)
    assert body["client_secret"] not in str(row._mapping)


async def test_client_secret_post_is_kept_and_links_stored(running_app: httpx.AsyncClient) -> None:
    response = await running_app.post(
        REGISTER,
        json={
            "redirect_uris": ["https://app.example.com/cb"],
            "token_endpoint_auth_method": "client_secret_post",
            "client_uri": "https://app.example.com",
            "logo_uri": "https://app.example.com/logo.png",
            "scope": "keys:read offline_access translations:write",
            "contacts": ["ops@example.com"],
            "software_statement": "ignored.jwt.value",
            "something_new": {"nested": True},
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["token_endpoint_auth_method"] == "client_secret_post"
    assert body["scope"] == "keys:read translations:write"
    assert body["logo_uri"] == "https://app.example.com/logo.png"
    assert "something_new" not in body and "contacts" not in body
    row = await stored(running_app, body["client_id"])
    assert row.scope == "keys:read translations:write"
    assert (row.client_uri, row.logo_uri) == (
        "https://app.example.com",
        "https://app.example.com/logo.png",
    )


async def test_registration_without_scope_reports_default_scopes(
    running_app: httpx.AsyncClient,
) -> None:
    response = await running_app.post(
        REGISTER, json={"redirect_uris": [GOOD_URI], "token_endpoint_auth_method": "none"}
    )
    assert response.json()["scope"].split()[:2] == ["org:read", "projects:read"]
    assert "translations:publish" not in response.json()["scope"]
    assert (await stored(running_app, response.json()["client_id"])).scope is None


BAD_REDIRECT_URIS = [
    pytest.param("javascript:alert(1)", id="javascript"),
    pytest.param("JavaScript:alert(1)", id="javascript-mixed-case"),
    pytest.param("JAVASCRIPT:alert(1)", id="javascript-upper"),
    pytest.param("java\tscript:alert(1)", id="javascript-embedded-tab"),
    pytest.param(" javascript:alert(1)", id="javascript-leading-space"),
    pytest.param("javascript\n:alert(1)", id="javascript-embedded-newline"),
    pytest.param("data:text/html,<script>alert(1)</script>", id="data"),
    pytest.param("DATA:text/html,hi", id="data-upper"),
    pytest.param("file:///etc/passwd", id="file"),
    pytest.param("vbscript:msgbox(1)", id="vbscript"),
    pytest.param("VBScript:msgbox(1)", id="vbscript-mixed-case"),
    pytest.param("https://app.example.com/cb#fragment", id="fragment"),
    pytest.param("https://app.example.com/cb#", id="empty-fragment"),
    pytest.param("https://*.example.com/cb", id="wildcard-host"),
    pytest.param("https://app.example.com/*", id="wildcard-path"),
    pytest.param("https://user:pw@app.example.com/cb", id="userinfo"),
    pytest.param("https://attacker.example@app.example.com/cb", id="userinfo-host-confusion"),
    pytest.param("http://127.0.0.1.evil.example/cb", id="lookalike-loopback-ipv4"),
    pytest.param("http://localhost.evil.example/cb", id="lookalike-localhost"),
    pytest.param("http://127.0.0.1@evil.example/cb", id="loopback-as-userinfo"),
    pytest.param("http://0x7f000001/cb", id="hex-loopback"),
    pytest.param("http://2130706433/cb", id="decimal-loopback"),
    pytest.param("http://app.example.com/cb", id="plain-http"),
    pytest.param("https://app.example.com/cb\r\nX-Injected: 1", id="crlf"),
    pytest.param("https://app.example.com/c b", id="embedded-space"),
    pytest.param("https:///cb", id="https-without-host"),
    pytest.param("http://[::1/cb", id="unclosed-ipv6-bracket"),
    pytest.param("https://[::1]x/cb", id="junk-after-ipv6"),
    pytest.param("/relative/cb", id="relative"),
    pytest.param("", id="empty"),
]


@pytest.mark.parametrize("redirect_uri", BAD_REDIRECT_URIS)
async def test_bad_redirect_uri_is_refused_and_nothing_stored(
    running_app: httpx.AsyncClient, redirect_uri: str
) -> None:
    response = await running_app.post(
        REGISTER,
        json={"redirect_uris": [GOOD_URI, redirect_uri], "token_endpoint_auth_method": "none"},
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_redirect_uri"
    assert await client_count(running_app) == 0


BAD_METADATA: list[Any] = [
    pytest.param({}, "invalid_redirect_uri", id="no-redirect-uris"),
    pytest.param({"redirect_uris": []}, "invalid_redirect_uri", id="empty-redirect-uris"),
    pytest.param({"redirect_uris": GOOD_URI}, "invalid_redirect_uri", id="redirect-uris-string"),
    pytest.param({"redirect_uris": [7]}, "invalid_redirect_uri", id="redirect-uri-number"),
    pytest.param(
        {"redirect_uris": [f"http://127.0.0.1:{4000 + n}/cb" for n in range(21)]},
        "invalid_redirect_uri",
        id="21-redirect-uris",
    ),
    pytest.param({"grant_types": ["client_credentials"]}, "invalid_client_metadata", id="cc"),
    pytest.param({"grant_types": ["implicit"]}, "invalid_client_metadata", id="implicit"),
    pytest.param(
        {"grant_types": ["authorization_code", "password"]},
        "invalid_client_metadata",
        id="password-grant",
    ),
    pytest.param({"grant_types": ["refresh_token"]}, "invalid_client_metadata", id="no-code"),
    pytest.param({"grant_types": "authorization_code"}, "invalid_client_metadata", id="gt-str"),
    pytest.param({"response_types": ["token"]}, "invalid_client_metadata", id="token-response"),
    pytest.param(
        {"response_types": ["code", "id_token"]}, "invalid_client_metadata", id="hybrid-response"
    ),
    pytest.param({"scope": "admin:all"}, "invalid_client_metadata", id="unknown-scope"),
    pytest.param({"scope": ["keys:read"]}, "invalid_client_metadata", id="scope-not-string"),
    pytest.param(
        {"client_uri": "http://app.example.com"}, "invalid_client_metadata", id="http-uri"
    ),
    pytest.param(
        {"logo_uri": "javascript:alert(1)"}, "invalid_client_metadata", id="javascript-logo"
    ),
    pytest.param({"logo_uri": "data:image/png;base64,AAAA"}, "invalid_client_metadata", id="data"),
    pytest.param({"tos_uri": "ftp://example.com/tos"}, "invalid_client_metadata", id="ftp-tos"),
    pytest.param({"policy_uri": "https://"}, "invalid_client_metadata", id="hostless-policy"),
    pytest.param({"logo_uri": "https://[bad/x.png"}, "invalid_client_metadata", id="bad-ipv6-logo"),
    pytest.param({"client_name": "x" * 201}, "invalid_client_metadata", id="name-201-chars"),
    pytest.param({"client_name": "   "}, "invalid_client_metadata", id="blank-name"),
    pytest.param({"client_name": 42}, "invalid_client_metadata", id="name-not-string"),
    pytest.param(
        {"token_endpoint_auth_method": "private_key_jwt"},
        "invalid_client_metadata",
        id="private-key-jwt",
    ),
    pytest.param(
        {"token_endpoint_auth_method": "tls_client_auth"}, "invalid_client_metadata", id="mtls"
    ),
]


@pytest.mark.parametrize(("overrides", "error"), BAD_METADATA)
async def test_bad_metadata_is_refused_with_exact_error(
    running_app: httpx.AsyncClient, overrides: dict[str, Any], error: str
) -> None:
    metadata: dict[str, Any] = {"redirect_uris": [GOOD_URI], "token_endpoint_auth_method": "none"}
    metadata.update(overrides)
    if "redirect_uris" not in overrides and not overrides:
        metadata.pop("redirect_uris")
    response = await running_app.post(REGISTER, json=metadata)
    assert response.status_code == 400
    assert response.json()["error"] == error
    assert response.json()["error_description"]
    assert await client_count(running_app) == 0


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200f", "\u061c", "\x1b"])
async def test_client_name_with_a_bidi_or_control_character_is_refused(
    running_app: httpx.AsyncClient, char: str
) -> None:
    response = await running_app.post(
        REGISTER,
        json={
            "client_name": f"Claude{char} (official)",
            "redirect_uris": [GOOD_URI],
            "token_endpoint_auth_method": "none",
        },
    )
    assert response.status_code == 400
    assert response.json() == {
        "error": "invalid_client_metadata",
        "error_description": "The client name may not contain control or bidirectional "
        f"formatting characters (U+{ord(char):04X}).",
    }
    assert await client_count(running_app) == 0


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b"not json", id="not-json"),
        pytest.param(b"[1, 2]", id="array"),
        pytest.param(b'"string"', id="string"),
        pytest.param(b"\xff\xfe", id="not-utf8"),
        pytest.param(b'{"redirect_uris": ["' + b"a" * 17000 + b'"]}', id="over-16kb"),
        pytest.param(b"[" * 5000 + b"]" * 5000, id="nested-5000-deep"),
    ],
)
async def test_malformed_body_is_invalid_client_metadata(
    running_app: httpx.AsyncClient, content: bytes
) -> None:
    response = await running_app.post(
        REGISTER, content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"
    assert await client_count(running_app) == 0


async def test_registration_switched_off_is_refused(app_with: Any) -> None:
    async with app_with(registration_enabled=False) as client:
        response = await client.post(REGISTER, json={"redirect_uris": [GOOD_URI]})
        assert response.status_code == 403
        assert response.json()["error"] == "access_denied"
        assert "switched off" in response.json()["error_description"]
        assert await client_count(client) == 0
        metadata = (await client.get("/.well-known/oauth-authorization-server")).json()
        assert "registration_endpoint" not in metadata


async def test_registration_rate_limit_per_address_and_redirect_host(
    app_with: Any, clock: Any
) -> None:
    async with app_with(registration_rate_per_hour=2) as client:

        async def register(uri: str) -> httpx.Response:
            return await client.post(
                REGISTER, json={"redirect_uris": [uri], "token_endpoint_auth_method": "none"}
            )

        assert (await register("https://claude.ai/api/mcp/auth_callback")).status_code == 201
        assert (await register("https://claude.ai/api/mcp/auth_callback")).status_code == 201
        refused = await register("https://claude.ai/api/mcp/auth_callback")
        assert refused.status_code == 429
        assert refused.json()["error"] == "rate_limited"
        assert 1 <= int(refused.headers["retry-after"]) <= 3600
        # Another hosted client behind the same address has its own budget.
        assert (
            await register("https://chatgpt.com/connector_platform_oauth_redirect")
        ).status_code == 201
        assert await client_count(client) == 3
        clock.advance(hours=1)
        assert (await register("https://claude.ai/api/mcp/auth_callback")).status_code == 201


async def test_varying_redirect_hosts_hits_the_address_ceiling(app_with: Any) -> None:
    async with app_with(registration_rate_per_hour=1) as client:
        statuses = [
            (
                await client.post(
                    REGISTER,
                    json={
                        "redirect_uris": [f"https://app{n}.example.com/cb"],
                        "token_endpoint_auth_method": "none",
                    },
                )
            ).status_code
            for n in range(11)
        ]
        assert statuses == [201] * 10 + [429]
        assert await client_count(client) == 10


async def test_failed_registrations_count_against_the_limit(app_with: Any) -> None:
    async with app_with(registration_rate_per_hour=1) as client:
        bad = await client.post(REGISTER, json={"redirect_uris": ["javascript:alert(1)"]})
        assert bad.status_code == 400
        again = await client.post(REGISTER, json={"redirect_uris": ["javascript:alert(1)"]})
        assert again.status_code == 429
