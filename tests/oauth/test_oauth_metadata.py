"""GET /.well-known/oauth-authorization-server (RFC 8414), GET /api/auth/mcp/jwks, and the
``i18n-connect keys rotate`` command."""

from __future__ import annotations

import json

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from i18n_connect.app import create_app
from i18n_connect.cli import app as cli_app
from i18n_connect.clock import FrozenClock
from i18n_connect.scopes import CATALOG
from i18n_connect.settings import Settings
from i18n_connect.storage.oauth_tables import signing_keys


async def test_metadata_describes_every_endpoint_and_capability(
    app_client: httpx.AsyncClient,
) -> None:
    response = await app_client.get("/.well-known/oauth-authorization-server")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    body = response.json()
    base = "http://testserver"
    assert body["issuer"] == base
    assert body["authorization_endpoint"] == f"{base}/api/auth/mcp/authorize"
    assert body["token_endpoint"] == f"{base}/api/auth/mcp/token"
    assert body["jwks_uri"] == f"{base}/api/auth/mcp/jwks"
    assert body["registration_endpoint"] == f"{base}/api/auth/mcp/register"
    assert body["revocation_endpoint"] == f"{base}/api/auth/mcp/revoke"
    assert body["introspection_endpoint"] == f"{base}/api/auth/mcp/introspect"
    assert body["device_authorization_endpoint"] == f"{base}/api/auth/mcp/device_authorization"
    assert body["response_types_supported"] == ["code"]
    assert body["grant_types_supported"] == [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    ]
    assert body["code_challenge_methods_supported"] == ["S256"]
    assert body["token_endpoint_auth_methods_supported"] == [
        "none",
        "client_secret_basic",
        "client_secret_post",
    ]
    assert body["scopes_supported"] == [*CATALOG, "offline_access"]
    assert body["authorization_response_iss_parameter_supported"] is True
    assert body["client_id_metadata_document_supported"] is True


async def test_metadata_omits_registration_when_it_is_switched_off(
    settings: Settings, clock: FrozenClock
) -> None:
    app = create_app(settings.model_copy(update={"registration_enabled": False}), clock=clock)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://testserver"
    ) as client:
        body = (await client.get("/.well-known/oauth-authorization-server")).json()
    await app.state.services.db.dispose()
    assert "registration_endpoint" not in body
    assert body["token_endpoint"] == "http://testserver/api/auth/mcp/token"


async def test_jwks_publishes_the_public_signing_key_only(app_client: httpx.AsyncClient) -> None:
    response = await app_client.get("/api/auth/mcp/jwks")

    assert response.status_code == 200
    assert response.headers["cache-control"] == "public, max-age=300"
    [key] = response.json()["keys"]
    assert set(key) == {"kty", "crv", "x", "y", "kid", "use", "alg"}
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("EC", "P-256", "ES256", "sig")
    services = app_client.app.state.services  # type: ignore[attr-defined]
    assert key["kid"] == (await services.keys.signing_key()).kid


def test_keys_rotate_adds_a_current_key_and_keeps_the_old_one_published(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.secret_key is not None
    monkeypatch.setenv("I18N_CONNECT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("I18N_CONNECT_SECRET_KEY", settings.secret_key.get_secret_value())
    runner = CliRunner()

    first = runner.invoke(cli_app, ["keys", "rotate", "--json"], catch_exceptions=False)
    second = runner.invoke(cli_app, ["keys", "rotate", "--json"], catch_exceptions=False)

    assert first.exit_code == 0 and second.exit_code == 0
    # the last line: an app built earlier in this process may have routed library logs to stdout
    one, two = (json.loads(result.stdout.splitlines()[-1]) for result in (first, second))
    assert one["retired"] == [] and two["retired"] == [one["kid"]]
    engine = sa.create_engine(
        settings.database_url.replace("postgresql://", "postgresql+psycopg://")
    )
    try:
        with engine.connect() as conn:
            rows = {row.kid: row for row in conn.execute(sa.select(signing_keys))}
    finally:
        engine.dispose()
    assert set(rows) == {one["kid"], two["kid"]}
    assert rows[two["kid"]].retired_at is None and rows[two["kid"]].expires_at is None
    old = rows[one["kid"]]
    assert old.retired_at is not None
    assert (old.expires_at - old.retired_at).total_seconds() == 35 * 60
    text = runner.invoke(cli_app, ["keys", "rotate"], catch_exceptions=False)
    assert text.exit_code == 0 and "is now current" in text.stdout


async def test_token_endpoint_answers_cors_preflight_for_browser_clients(
    app_client: httpx.AsyncClient,
) -> None:
    response = await app_client.options(
        "/api/auth/mcp/token",
        headers={"Origin": "http://localhost:6274", "Access-Control-Request-Method": "POST"},
    )
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == "*"
    assert "Authorization" in response.headers["access-control-allow-headers"]
    refused = await app_client.post("/api/auth/mcp/token", data={"grant_type": "password"})
    assert refused.status_code == 400
    assert refused.headers["access-control-allow-origin"] == "*"
