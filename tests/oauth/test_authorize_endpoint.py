"""GET /api/auth/mcp/authorize: what is refused with a page, what is redirected and exactly where,
and what is stored (SPEC §3; RFC 6749 §4.1.2.1, RFC 7636, RFC 8252 §7.3, RFC 8707, RFC 9207)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from authorize_flow import (
    CHALLENGE,
    REDIRECT,
    REDIRECT_WITH_QUERY,
    World,
    authorize_params,
    make_world,
    query_of,
    services_of,
    sign_in_browser,
    stored_state,
)
from sqlalchemy import select

from i18n_connect.clock import FrozenClock
from i18n_connect.oauth.authorize import redirect_with
from i18n_connect.scopes import DEFAULT_SCOPES, format_scope
from i18n_connect.storage.oauth_tables import authorization_requests
from i18n_connect.storage.tables import rate_counters
from i18n_connect.web.sessions import COOKIE_NAME

ISSUER = "http://testserver"
NOTHING_STORED = {"requests": 0, "completed": 0, "grants": 0, "codes": 0, "refresh_tokens": 0}


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> World:
    return await make_world(services_of(app_client))


Pairs = list[tuple[str, str]]


def pairs(world: World, **overrides: str | None) -> Pairs:
    return list(authorize_params(**{"client_id": world.client_id, **overrides}).items())


@dataclass(frozen=True)
class Refused:
    """An error page with status 400 and no redirect."""

    build: Callable[[World], Pairs]
    says: str


PAGE_CASES = {
    "unknown client": Refused(
        lambda w: pairs(w, client_id="cli_nobody"), "not registered on this site"
    ),
    "missing client_id": Refused(
        lambda w: pairs(w, client_id=None), "does not say which app is asking"
    ),
    "empty client_id": Refused(
        lambda w: pairs(w, client_id=""), "does not say which app is asking"
    ),
    "duplicated client_id": Refused(
        lambda w: [*pairs(w), ("client_id", w.client_id)], "says more than once which app is asking"
    ),
    "missing redirect_uri": Refused(
        lambda w: pairs(w, redirect_uri=None), "does not say where to send you back"
    ),
    "duplicated redirect_uri": Refused(
        lambda w: [*pairs(w), ("redirect_uri", REDIRECT)],
        "says more than once where to send you back",
    ),
    "host in other case": Refused(
        lambda w: pairs(w, redirect_uri="https://APP.example.com/cb"), "never registered"
    ),
    "scheme in other case": Refused(
        lambda w: pairs(w, redirect_uri="HTTPS://app.example.com/cb"), "never registered"
    ),
    "path in other case": Refused(
        lambda w: pairs(w, redirect_uri="https://app.example.com/CB"), "never registered"
    ),
    "trailing slash": Refused(
        lambda w: pairs(w, redirect_uri="https://app.example.com/cb/"), "never registered"
    ),
    "added query": Refused(
        lambda w: pairs(w, redirect_uri="https://app.example.com/cb?next=/admin"),
        "never registered",
    ),
    "added query to a registered query": Refused(
        lambda w: pairs(w, redirect_uri=REDIRECT_WITH_QUERY + "&x=1"), "never registered"
    ),
    "reordered query": Refused(
        lambda w: pairs(w, redirect_uri="https://app.example.com/callback?lang=en&tenant=7"),
        "never registered",
    ),
    "empty query": Refused(
        lambda w: pairs(w, redirect_uri="https://app.example.com/cb?"), "never registered"
    ),
    "fragment": Refused(
        lambda w: pairs(w, redirect_uri="https://app.example.com/cb#x"), "never registered"
    ),
    "userinfo before host": Refused(
        lambda w: pairs(w, redirect_uri="https://app.example.com@evil.com/cb"), "never registered"
    ),
    "userinfo on the right host": Refused(
        lambda w: pairs(w, redirect_uri="https://evil.com@app.example.com/cb"), "never registered"
    ),
    "dot-dot segment": Refused(
        lambda w: pairs(w, redirect_uri="https://app.example.com/cb/../cb"), "never registered"
    ),
    "dot-dot escaping the path": Refused(
        lambda w: pairs(w, redirect_uri="https://app.example.com/x/../cb"), "never registered"
    ),
    "percent-encoded path letter": Refused(
        lambda w: pairs(w, redirect_uri="https://app.example.com/%63b"), "never registered"
    ),
    "percent-encoded slash": Refused(
        lambda w: pairs(w, redirect_uri="https://app.example.com%2Fcb"), "never registered"
    ),
    "explicit default port": Refused(
        lambda w: pairs(w, redirect_uri="https://app.example.com:443/cb"), "never registered"
    ),
    "http instead of https": Refused(
        lambda w: pairs(w, redirect_uri="http://app.example.com/cb"), "never registered"
    ),
    "look-alike suffix host": Refused(
        lambda w: pairs(w, redirect_uri="https://app.example.com.evil.com/cb"), "never registered"
    ),
    "look-alike loopback host": Refused(
        lambda w: pairs(w, redirect_uri="http://127.0.0.1.evil.com/cb"), "never registered"
    ),
    "loopback with userinfo": Refused(
        lambda w: pairs(w, redirect_uri="http://evil.com@127.0.0.1/cb"), "never registered"
    ),
    "loopback on another host name": Refused(
        lambda w: pairs(w, redirect_uri="http://localhost/cb"), "never registered"
    ),
    "loopback over https": Refused(
        lambda w: pairs(w, redirect_uri="https://127.0.0.1/cb"), "never registered"
    ),
    "loopback with other path": Refused(
        lambda w: pairs(w, redirect_uri="http://127.0.0.1:8080/cb/"), "never registered"
    ),
    "loopback with bad port": Refused(
        lambda w: pairs(w, redirect_uri="http://127.0.0.1:99999/cb"), "never registered"
    ),
    "redirect_uri of another client": Refused(
        lambda w: pairs(w, client_id=w.scoped_client_id, redirect_uri=REDIRECT_WITH_QUERY),
        "never registered",
    ),
    "CRLF in redirect_uri": Refused(
        lambda w: pairs(w, redirect_uri="https://app.example.com/cb\r\nSet-Cookie: x=1"),
        "never registered",
    ),
}


@pytest.mark.parametrize("case", PAGE_CASES.values(), ids=PAGE_CASES.keys())
async def test_untrusted_client_or_redirect_uri_gets_an_error_page_never_a_redirect(
    app_client: httpx.AsyncClient, world: World, case: Refused
) -> None:
    response = await app_client.get(
        "/api/auth/mcp/authorize", params=case.build(world), follow_redirects=False
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert case.says in response.text
    assert "Nothing was shared with the app" in response.text
    assert "evil.com" not in response.text
    assert await stored_state(services_of(app_client)) == NOTHING_STORED


@dataclass(frozen=True)
class Redirected:
    """A 302 back to the client with this error; ``state`` echoed only when well-formed."""

    build: Callable[[World], Pairs]
    error: str
    state: str | None = "st-123"
    base: str = REDIRECT


CRLF_STATE = "abc\r\nSet-Cookie: stolen=1"
BIG_STATE = "s" * 4096

REDIRECT_CASES = {
    "missing PKCE challenge": Redirected(
        lambda w: pairs(w, code_challenge=None), "invalid_request"
    ),
    "missing PKCE method": Redirected(
        lambda w: pairs(w, code_challenge_method=None), "invalid_request"
    ),
    "plain PKCE": Redirected(lambda w: pairs(w, code_challenge_method="plain"), "invalid_request"),
    "unknown PKCE method": Redirected(
        lambda w: pairs(w, code_challenge_method="S512"), "invalid_request"
    ),
    "lower-case s256": Redirected(
        lambda w: pairs(w, code_challenge_method="s256"), "invalid_request"
    ),
    "short challenge": Redirected(
        lambda w: pairs(w, code_challenge=CHALLENGE[:42]), "invalid_request"
    ),
    "long challenge": Redirected(
        lambda w: pairs(w, code_challenge=CHALLENGE + "A"), "invalid_request"
    ),
    "padded challenge": Redirected(
        lambda w: pairs(w, code_challenge=CHALLENGE[:42] + "="), "invalid_request"
    ),
    "base64 (not url) challenge": Redirected(
        lambda w: pairs(w, code_challenge="+" + CHALLENGE[1:]), "invalid_request"
    ),
    "unknown scope": Redirected(
        lambda w: pairs(w, scope="org:read admin:everything"), "invalid_scope"
    ),
    "implicit flow": Redirected(
        lambda w: pairs(w, response_type="token"), "unsupported_response_type"
    ),
    "hybrid flow": Redirected(
        lambda w: pairs(w, response_type="code id_token"), "unsupported_response_type"
    ),
    "missing response_type": Redirected(lambda w: pairs(w, response_type=None), "invalid_request"),
    "foreign resource": Redirected(
        lambda w: pairs(w, resource="https://evil.example/api"), "invalid_target"
    ),
    "resource with trailing slash": Redirected(
        lambda w: pairs(w, resource="http://testserver/mcp/"), "invalid_target"
    ),
    "duplicated scope": Redirected(
        lambda w: [*pairs(w), ("scope", "projects:write")], "invalid_request"
    ),
    "duplicated code_challenge": Redirected(
        lambda w: [*pairs(w), ("code_challenge", CHALLENGE)], "invalid_request"
    ),
    "duplicated response_type": Redirected(
        lambda w: [*pairs(w), ("response_type", "code")], "invalid_request"
    ),
    "duplicated state": Redirected(
        lambda w: [*pairs(w), ("state", "other")], "invalid_request", state=None
    ),
    "CRLF in state": Redirected(
        lambda w: pairs(w, state=CRLF_STATE), "invalid_request", state=None
    ),
    "NUL in state": Redirected(lambda w: pairs(w, state="a\x00b"), "invalid_request", state=None),
    "4 KB state": Redirected(lambda w: pairs(w, state=BIG_STATE), "invalid_request", state=None),
    "error merged into a redirect URI with a query": Redirected(
        lambda w: pairs(w, redirect_uri=REDIRECT_WITH_QUERY, response_type="token"),
        "unsupported_response_type",
        base="https://app.example.com/callback",
    ),
    "error to a loopback redirect on any port": Redirected(
        lambda w: pairs(w, redirect_uri="http://127.0.0.1:50123/cb", code_challenge=None),
        "invalid_request",
        base="http://127.0.0.1:50123/cb",
    ),
}


def as_operator_client(world: World, query: Pairs) -> Pairs:
    return [(n, world.operator_client_id if n == "client_id" else v) for n, v in query]


@pytest.mark.parametrize("case", REDIRECT_CASES.values(), ids=REDIRECT_CASES.keys())
async def test_other_errors_of_an_operator_registered_client_redirect_with_error_state_and_iss(
    app_client: httpx.AsyncClient, world: World, case: Redirected
) -> None:
    response = await app_client.get(
        "/api/auth/mcp/authorize",
        params=as_operator_client(world, case.build(world)),
        follow_redirects=False,
    )
    assert response.status_code == 302
    base, query = query_of(response.headers["location"])
    assert base == case.base
    names = [name for name, _ in query]
    assert len(names) == len(set(names)), "no parameter twice"
    params = dict(query)
    assert params.pop("error") == case.error
    assert params.pop("error_description")
    assert params.pop("iss") == ISSUER
    assert params.pop("state", None) == case.state
    if case.base == "https://app.example.com/callback":
        assert query[:2] == [("tenant", "7"), ("lang", "en")]
        assert params == {"tenant": "7", "lang": "en"}
    else:
        assert params == {}
    assert "\r" not in response.headers["location"]
    assert await stored_state(services_of(app_client)) == NOTHING_STORED


@pytest.mark.parametrize("case", REDIRECT_CASES.values(), ids=REDIRECT_CASES.keys())
async def test_errors_of_a_self_registered_client_get_an_error_page_never_a_redirect(
    app_client: httpx.AsyncClient, world: World, case: Redirected
) -> None:
    response = await app_client.get(
        "/api/auth/mcp/authorize", params=case.build(world), follow_redirects=False
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert f"Tell the app&#39;s developer (error code: {case.error})." in response.text
    assert "Nothing was shared with the app" in response.text
    assert "evil.example" not in response.text
    assert "Set-Cookie" not in response.text
    assert await stored_state(services_of(app_client)) == NOTHING_STORED


async def test_a_self_registered_redirect_uri_is_not_an_open_redirect(
    app_client: httpx.AsyncClient, world: World
) -> None:
    """RFC 9700 §4.11.2: register an attacker's URI, then send a broken request to it."""
    registered = await app_client.post(
        "/api/auth/mcp/register",
        json={"client_name": "Lure", "redirect_uris": ["https://evil.example/login"]},
    )
    assert registered.status_code == 201
    response = await app_client.get(
        "/api/auth/mcp/authorize",
        params={
            "client_id": registered.json()["client_id"],
            "redirect_uri": "https://evil.example/login",
            "response_type": "x",
        },
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert "does not give" in response.text
    assert "evil.example" not in response.text
    assert await stored_state(services_of(app_client)) == NOTHING_STORED


async def test_signed_out_browser_is_sent_to_login_to_come_back_and_nothing_is_stored(
    app_client: httpx.AsyncClient, world: World
) -> None:
    query = [*pairs(world), ("prompt", "login"), ("note", "a\\b c&d")]
    response = await app_client.get("/api/auth/mcp/authorize", params=query, follow_redirects=False)
    assert response.status_code == 303
    base, login_query = query_of(response.headers["location"])
    assert base == "/login"
    ((next_name, next_url),) = login_query
    assert next_name == "next"
    path, again = query_of(next_url)
    assert path == "/api/auth/mcp/authorize"
    assert again == query
    assert "\\" not in next_url  # a path the login page accepts as it is
    assert COOKIE_NAME not in response.cookies
    assert await stored_state(services_of(app_client)) == NOTHING_STORED


async def test_signed_in_browser_has_the_request_stored_for_its_session(
    app_client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    await sign_in_browser(app_client, world.alice)
    response = await app_client.get(
        "/api/auth/mcp/authorize", params=pairs(world), follow_redirects=False
    )
    assert response.status_code == 303
    consent_path, consent_query = query_of(response.headers["location"])
    assert consent_path == "/api/auth/mcp/consent"
    request_id = dict(consent_query)["request_id"]
    assert len(request_id) >= 43  # 256 random bits
    services = services_of(app_client)
    async with services.db.transaction(readonly=True) as conn:
        row = (await conn.execute(select(authorization_requests))).one()
    assert row.id == request_id
    assert row.client_id == world.client_id
    assert row.redirect_uri == REDIRECT
    assert row.scope == "org:read keys:read translations:publish"
    assert row.state == "st-123"
    assert row.code_challenge == CHALLENGE
    assert row.resource is None
    assert row.expires_at == clock.now() + timedelta(minutes=10)
    assert row.completed_at is None


async def test_cookieless_requests_are_limited_per_address_and_store_nothing(
    app_client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    services = services_of(app_client)
    limit = 5
    services.settings = services.settings.model_copy(update={"authorize_rate_per_minute": limit})
    clock.advance(seconds=60 - clock.now().second)  # at the start of a window
    for _ in range(limit):
        app_client.cookies.clear()
        ok = await app_client.get("/api/auth/mcp/authorize", params=pairs(world))
        assert ok.status_code == 303
    clock.advance(seconds=20)
    refused = await app_client.get("/api/auth/mcp/authorize", params=pairs(world))
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "40"
    assert refused.headers["content-type"].startswith("text/html")
    assert "Wait 40 seconds" in refused.text
    assert "location" not in refused.headers
    await sign_in_browser(app_client, world.alice)  # signing in does not lift it
    again = await app_client.get("/api/auth/mcp/authorize", params=pairs(world))
    assert again.status_code == 429
    other = await app_client.get(
        "/api/auth/mcp/authorize",
        params=pairs(world),
        headers={"x-forwarded-for": "203.0.113.9"},  # not believed: no trusted proxy
    )
    assert other.status_code == 429
    assert await stored_state(services) == NOTHING_STORED
    async with services.db.transaction(readonly=True) as conn:
        counted = (
            await conn.execute(
                select(rate_counters.c.count).where(rate_counters.c.key == "authorize:127.0.0.1")
            )
        ).scalar_one()
    assert counted == limit + 3
    clock.advance(seconds=40)
    assert (await app_client.get("/api/auth/mcp/authorize", params=pairs(world))).status_code == 303


async def test_signed_in_browser_goes_straight_to_consent_even_with_prompt_none(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_browser(app_client, world.alice)
    response = await app_client.get(
        "/api/auth/mcp/authorize",
        params=[*pairs(world), ("prompt", "none")],
        follow_redirects=False,
    )
    assert response.status_code == 303
    path, query = query_of(response.headers["location"])
    assert path == "/api/auth/mcp/consent"
    assert [name for name, _ in query] == ["request_id"]
    assert (await stored_state(services_of(app_client)))["requests"] == 1


@pytest.mark.parametrize(
    ("use_scoped_client", "scope", "stored"),
    [
        (False, None, format_scope(DEFAULT_SCOPES)),
        (False, "", format_scope(DEFAULT_SCOPES)),
        (True, None, "org:read keys:read"),
        (True, "keys:write", "keys:write"),
        (False, "offline_access keys:read", "keys:read"),
        (False, "offline_access", format_scope(DEFAULT_SCOPES)),
        (False, "keys:read  keys:read org:read", "org:read keys:read"),
    ],
    ids=[
        "no scope: default-on scopes",
        "empty scope: default-on scopes",
        "no scope: the client's registered scopes",
        "registered scopes are a default, not a ceiling",
        "offline_access accepted and ignored",
        "only offline_access: default-on scopes",
        "repeated names collapse, catalog order",
    ],
)
async def test_requested_scope_is_resolved_before_it_is_stored(
    app_client: httpx.AsyncClient,
    world: World,
    use_scoped_client: bool,
    scope: str | None,
    stored: str,
) -> None:
    await sign_in_browser(app_client, world.alice)
    client_id = world.scoped_client_id if use_scoped_client else world.client_id
    response = await app_client.get(
        "/api/auth/mcp/authorize",
        params=authorize_params(client_id=client_id, scope=scope),
        follow_redirects=False,
    )
    assert response.status_code == 303
    services = services_of(app_client)
    async with services.db.transaction(readonly=True) as conn:
        assert (await conn.execute(select(authorization_requests.c.scope))).scalar_one() == stored


@pytest.mark.parametrize(
    "resource", ["http://testserver/mcp", "http://testserver/api/oauth-client"]
)
async def test_a_resource_of_this_server_is_kept_for_the_code(
    app_client: httpx.AsyncClient, world: World, resource: str
) -> None:
    await sign_in_browser(app_client, world.alice)
    response = await app_client.get(
        "/api/auth/mcp/authorize", params=pairs(world, resource=resource), follow_redirects=False
    )
    assert response.status_code == 303
    services = services_of(app_client)
    async with services.db.transaction(readonly=True) as conn:
        stored = (await conn.execute(select(authorization_requests.c.resource))).scalar_one()
    assert stored == resource


@pytest.mark.parametrize("port", ["", ":1", ":50123", ":65535"])
async def test_loopback_redirect_uri_is_accepted_on_any_port_and_stored_as_sent(
    app_client: httpx.AsyncClient, world: World, port: str
) -> None:
    await sign_in_browser(app_client, world.alice)
    uri = f"http://127.0.0.1{port}/cb"
    response = await app_client.get(
        "/api/auth/mcp/authorize", params=pairs(world, redirect_uri=uri), follow_redirects=False
    )
    assert response.status_code == 303
    services = services_of(app_client)
    async with services.db.transaction(readonly=True) as conn:
        stored = (await conn.execute(select(authorization_requests.c.redirect_uri))).scalar_one()
    assert stored == uri


async def test_a_1024_byte_state_with_unicode_is_kept_and_echoed(
    app_client: httpx.AsyncClient, world: World
) -> None:
    state = "é" * 512  # 1024 bytes in UTF-8
    response = await app_client.get(
        "/api/auth/mcp/authorize",
        params=pairs(world, client_id=world.operator_client_id, state=state, response_type="token"),
        follow_redirects=False,
    )
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["location"]).query)["state"] == [state]


@pytest.mark.parametrize(
    ("uri", "params", "expected"),
    [
        (
            "https://a.example/cb",
            {"code": "c1", "state": "s"},
            "https://a.example/cb?code=c1&state=s",
        ),
        (
            "https://a.example/cb?x=1&y=a%20b",
            {"code": "c1"},
            "https://a.example/cb?x=1&y=a%20b&code=c1",
        ),
        (
            "https://a.example/cb?state=stale&code=old&keep=1",
            {"code": "new", "state": "fresh"},
            "https://a.example/cb?keep=1&code=new&state=fresh",
        ),
        (
            "https://a.example/cb?",
            {"iss": "http://x/"},
            "https://a.example/cb?iss=http%3A%2F%2Fx%2F",
        ),
        ("cursor://callback", {"code": "c", "state": None}, "cursor://callback?code=c"),
        (
            "https://a.example/cb",
            {"state": "a&b=c d#e"},
            "https://a.example/cb?state=a%26b%3Dc%20d%23e",
        ),
    ],
    ids=[
        "plain",
        "keeps existing bytes",
        "replaces, never duplicates",
        "empty query",
        "private-use scheme",
        "escapes the value",
    ],
)
def test_redirect_with_merges_parameters_into_the_query(
    uri: str, params: dict[str, str | None], expected: str
) -> None:
    assert redirect_with(uri, params) == expected


async def test_authorize_error_page_does_not_echo_the_caller_input(
    app_client: httpx.AsyncClient, world: World
) -> None:
    response = await app_client.get(
        "/api/auth/mcp/authorize?" + urlencode({"client_id": "<script>alert(1)</script>"}),
        follow_redirects=False,
    )
    assert response.status_code == 400
    assert "<script>alert(1)</script>" not in response.text
    assert "alert(1)" not in response.text
