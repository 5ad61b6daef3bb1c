"""Code exchange, refresh rotation with persistence, revocation, mints and 429 retries."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs

import httpx
import pytest

from i18n_connect.client import (
    ConnectClient,
    GrantRevoked,
    InvalidGrant,
    RateLimited,
    RetryPolicy,
    SyncConnectClient,
    TokenSet,
)

ISSUER = "http://issuer.test"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
Handler = Callable[[httpx.Request], httpx.Response]


def _token_body(refresh: str = "rt_new", *, grants: int = 1) -> dict[str, object]:
    listed = [
        {
            "grant_id": f"grt_{i}",
            "organization_id": f"org_{i}",
            "refresh_token": f"{refresh}{i}" if i else refresh,
            "scope": "org:read projects:read",
        }
        for i in range(grants)
    ]
    return {
        "access_token": "eyJ.access",
        "token_type": "Bearer",
        "expires_in": 1800,
        **listed[0],
        "grants": listed,
    }


def _form(request: httpx.Request) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(request.content.decode()).items()}


def _client(handler: Handler, **options: object) -> ConnectClient:
    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    return ConnectClient(ISSUER, "cid", http=http, now=lambda: NOW, **options)  # type: ignore[arg-type]


async def test_code_exchange_posts_the_verifier_and_returns_every_grant() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_token_body("rt_a", grants=2))

    client = _client(handler)
    tokens = await client.exchange_code(
        "code1", redirect_uri="http://app/cb", code_verifier="v" * 43
    )
    assert seen[0].url == f"{ISSUER}/api/auth/mcp/token"
    assert seen[0].headers["content-type"] == "application/x-www-form-urlencoded"
    assert "authorization" not in seen[0].headers
    assert _form(seen[0]) == {
        "grant_type": "authorization_code",
        "code": "code1",
        "redirect_uri": "http://app/cb",
        "code_verifier": "v" * 43,
        "client_id": "cid",
    }
    assert [(g.grant_id, g.organization_id, g.refresh_token) for g in tokens.grants] == [
        ("grt_0", "org_0", "rt_a"),
        ("grt_1", "org_1", "rt_a1"),
    ]
    assert (tokens.grant_id, tokens.refresh_token, tokens.scope) == (
        "grt_0",
        "rt_a",
        ("org:read", "projects:read"),
    )
    assert tokens.expires_at == NOW + timedelta(seconds=1800)
    assert "eyJ.access" not in repr(tokens) and "rt_a" not in repr(tokens)


async def test_confidential_client_authenticates_with_basic() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=_token_body())

    client = _client(handler, client_secret="s3cret/+")
    await client.exchange_code("c", redirect_uri="http://app/cb", code_verifier="v")
    scheme, value = seen[0].headers["authorization"].split()
    assert scheme == "Basic"
    assert base64.b64decode(value).decode() == "cid:s3cret%2F%2B"  # RFC 6749 §2.3.1 encoding
    assert "client_secret" not in _form(seen[0])


async def test_refresh_persists_the_rotated_token_before_returning() -> None:
    events: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        events.append("request:" + _form(request)["refresh_token"])
        return httpx.Response(200, json=_token_body("rt_rotated"))

    async def persist(tokens: TokenSet) -> None:
        events.append("persist:" + tokens.refresh_token)

    client = _client(handler)
    tokens = await client.refresh("rt_old", persist=persist)
    events.append("returned")
    assert events == ["request:rt_old", "persist:rt_rotated", "returned"]
    assert tokens.refresh_token == "rt_rotated"


async def test_refresh_accepts_a_sync_persist_callback() -> None:
    stored: list[str] = []
    client = _client(lambda r: httpx.Response(200, json=_token_body("rt_2")))
    await client.refresh("rt_1", persist=lambda t: stored.append(t.refresh_token))
    assert stored == ["rt_2"]


async def test_refresh_fails_when_persisting_fails() -> None:
    client = _client(lambda r: httpx.Response(200, json=_token_body("rt_2")))

    def persist(tokens: TokenSet) -> None:
        raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        await client.refresh("rt_1", persist=persist)


async def test_refresh_sends_a_narrower_scope_when_asked() -> None:
    forms: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        forms.append(_form(request))
        return httpx.Response(200, json=_token_body())

    await _client(handler).refresh("rt_1", persist=lambda t: None, scope=["org:read"])
    assert forms[0]["scope"] == "org:read"


async def test_lost_refresh_response_is_retried_once_with_the_same_token() -> None:
    presented: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        presented.append(_form(request)["refresh_token"])
        if len(presented) == 1:
            raise httpx.ReadError("connection reset", request=request)
        return httpx.Response(200, json=_token_body("rt_2"))

    stored: list[str] = []
    tokens = await _client(handler).refresh(
        "rt_1", persist=lambda t: stored.append(t.refresh_token)
    )
    assert presented == ["rt_1", "rt_1"]
    assert stored == ["rt_2"] and tokens.refresh_token == "rt_2"


async def test_refresh_rejected_raises_invalid_grant_and_persists_nothing() -> None:
    stored: list[str] = []
    client = _client(
        lambda r: httpx.Response(
            400, json={"error": "invalid_grant", "error_description": "reused"}
        )
    )
    with pytest.raises(InvalidGrant) as caught:
        await client.refresh("rt_1", persist=lambda t: stored.append(t.refresh_token))
    assert (caught.value.status, caught.value.description) == (400, "reused")
    assert stored == []


async def test_exchange_persist_runs_before_returning() -> None:
    stored: list[tuple[str, ...]] = []
    client = _client(lambda r: httpx.Response(200, json=_token_body("rt_x", grants=2)))
    await client.exchange_code(
        "c",
        redirect_uri="http://app/cb",
        code_verifier="v",
        persist=lambda t: stored.append(tuple(g.refresh_token for g in t.grants)),
    )
    assert stored == [("rt_x", "rt_x1")]


async def test_revoke_grant_deletes_the_installation_with_the_access_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    await _client(handler).revoke_grant("eyJ.at", "grt_1")
    assert seen[0].method == "DELETE"
    assert seen[0].url == f"{ISSUER}/api/oauth-client/installations/grt_1"
    assert seen[0].headers["authorization"] == "Bearer eyJ.at"


async def test_revoke_grant_that_is_gone_raises_grant_not_found() -> None:
    from i18n_connect.client import GrantNotFound

    client = _client(lambda r: httpx.Response(404, json={"error": "grant_not_found"}))
    with pytest.raises(GrantNotFound):
        await client.revoke_grant("eyJ.at", "grt_1")


async def test_rfc7009_revoke_posts_the_token_and_hint() -> None:
    forms: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/auth/mcp/revoke"
        forms.append(_form(request))
        return httpx.Response(200)

    await _client(handler).revoke_token("rt_1", token_type_hint="refresh_token")
    assert forms == [{"token": "rt_1", "token_type_hint": "refresh_token", "client_id": "cid"}]


async def test_mint_sends_the_narrowing_body_and_parses_the_token() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(
            201,
            json={
                "installation_token": "bi_oat_1",
                "token_type": "Bearer",
                "expires_at": "2026-11-26T13:00:00Z",
                "expires_in": 3600,
                "organization_id": "org_1",
                "project_ids": ["prj_1"],
                "scopes": ["keys:read"],
            },
        )

    token = await _client(handler).mint_installation_token(
        "eyJ.at", "grt_1", project_ids=["prj_1"], scopes=["keys:read"]
    )
    assert seen[0].url == f"{ISSUER}/api/oauth-client/installations/grt_1/tokens"
    assert seen[0].headers["authorization"] == "Bearer eyJ.at"
    assert json.loads(seen[0].content) == {"project_ids": ["prj_1"], "scopes": ["keys:read"]}
    assert (token.token, token.organization_id, token.project_ids, token.scopes) == (
        "bi_oat_1",
        "org_1",
        ("prj_1",),
        ("keys:read",),
    )
    assert token.expires_at == NOW + timedelta(hours=1)


async def test_mint_on_a_revoked_grant_raises_grant_revoked() -> None:
    client = _client(lambda r: httpx.Response(410, json={"error": "grant_revoked"}))
    with pytest.raises(GrantRevoked) as caught:
        await client.mint_installation_token("eyJ.at", "grt_1")
    assert caught.value.status == 410


async def test_429_is_raised_without_opt_in() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(429, json={"error": "rate_limited"}, headers={"Retry-After": "2"})

    with pytest.raises(RateLimited) as caught:
        await _client(handler).partner_api("bi_oat_1").organizations()
    assert caught.value.retry_after == 2.0
    assert len(calls) == 1


async def test_429_retry_waits_retry_after_then_succeeds() -> None:
    waits: list[float] = []
    answers = iter(
        [
            httpx.Response(429, json={"error": "rate_limited"}, headers={"Retry-After": "3"}),
            httpx.Response(429, json={"error": "rate_limited"}, headers={"Retry-After": "1"}),
            httpx.Response(
                200, json={"organizations": [{"id": "org_1", "slug": "acme", "name": "Acme"}]}
            ),
        ]
    )

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = _client(lambda r: next(answers), retry=RetryPolicy(max_retries=3), sleep=sleep)
    orgs = await client.partner_api("bi_oat_1").organizations()
    assert waits == [3.0, 1.0]
    assert orgs == [{"id": "org_1", "slug": "acme", "name": "Acme"}]


async def test_429_retry_is_bounded_in_attempts() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = _client(
        lambda r: httpx.Response(429, json={"error": "rate_limited"}, headers={"Retry-After": "1"}),
        retry=RetryPolicy(max_retries=2),
        sleep=sleep,
    )
    with pytest.raises(RateLimited):
        await client.partner_api("bi_oat_1").organizations()
    assert waits == [1.0, 1.0]


async def test_429_retry_gives_up_when_the_wait_is_too_long() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    client = _client(
        lambda r: httpx.Response(
            429, json={"error": "rate_limited"}, headers={"Retry-After": "120"}
        ),
        retry=RetryPolicy(max_retries=3, max_wait=30),
        sleep=sleep,
    )
    with pytest.raises(RateLimited) as caught:
        await client.partner_api("bi_oat_1").organizations()
    assert caught.value.retry_after == 120.0
    assert waits == []


def test_sync_facade_refreshes_and_persists() -> None:
    stored: list[str] = []
    transport = httpx.MockTransport(lambda r: httpx.Response(200, json=_token_body("rt_9")))
    with SyncConnectClient(ISSUER, "cid", transport=transport) as client:
        tokens = client.refresh("rt_8", persist=lambda t: stored.append(t.refresh_token))
    assert stored == ["rt_9"] and tokens.grant_id == "grt_0"


def test_sdk_imports_without_the_server_dependencies() -> None:
    blocked = ["sqlalchemy", "fastapi", "starlette", "pydantic", "jinja2", "argon2", "alembic"]
    code = (
        "import sys\n"
        f"for name in {blocked!r}: sys.modules[name] = None\n"
        "import i18n_connect.client as c\n"
        "assert sorted(c.__all__) == list(c.__all__)\n"
        "leaked = [m for m in sys.modules if m.startswith('i18n_connect.')"
        " and not m.startswith('i18n_connect.client')]\n"
        "assert not leaked, leaked\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
