"""Client ID metadata documents: fetched over TLS from a loopback server (through the
test-only allowance), checked like a registration, cached per HTTP caching headers, and
refused — with exact errors — when the document or the fetch is not acceptable."""

from __future__ import annotations

import gzip
import json
import tracemalloc
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from document_server import DocumentServer, Route, serve_documents
from sqlalchemy import func, select

from i18n_connect.addresses import address_allowed
from i18n_connect.clock import FrozenClock
from i18n_connect.errors import InvalidClient, InvalidClientMetadata, InvalidRedirectUri
from i18n_connect.oauth import metadata_documents
from i18n_connect.oauth.metadata_documents import (
    is_metadata_document_url,
    load_metadata_document,
    resolve_client,
)
from i18n_connect.oauth.refusal_cache import RefusalCache
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage.oauth_tables import authorization_requests as requests
from i18n_connect.storage.oauth_tables import oauth_clients
from i18n_connect.web.client_documents import prefetch

PATH = "/oauth/client.json"
REDIRECT = "http://127.0.0.1/callback"


@pytest.fixture
def docs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[DocumentServer]:
    with serve_documents(tmp_path) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
        yield server


@pytest.fixture
async def cimd_services(settings: Settings, clock: FrozenClock) -> AsyncIterator[Services]:
    built = Services.build(settings.model_copy(update={"cimd_allow_loopback": True}), clock=clock)
    yield built
    await built.db.dispose()


def document(url: str, **changes: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "client_id": url,
        "client_name": "Doc Agent",
        "redirect_uris": [REDIRECT],
        "grant_types": ["authorization_code", "refresh_token"],
        "response_types": ["code"],
        "token_endpoint_auth_method": "none",
        "client_uri": "https://agent.example.com",
    }
    body.update(changes)
    return {k: v for k, v in body.items() if v is not None}


def publish(docs: DocumentServer, body: Any, path: str = PATH, **route: Any) -> str:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    docs.routes[path] = Route(raw, **route)
    return docs.url(path)


async def load(url: str, clock: FrozenClock, *, allow_loopback: bool = True) -> Any:
    return await load_metadata_document(url, allow_loopback=allow_loopback, now=clock.now())


async def test_document_is_loaded_and_cached_for_max_age(
    docs: DocumentServer, clock: FrozenClock
) -> None:
    url = docs.url(PATH)
    publish(docs, document(url), headers={"Cache-Control": "public, max-age=600"})
    metadata, expires_at = await load(url, clock)
    assert metadata.client_name == "Doc Agent"
    assert metadata.redirect_uris == (REDIRECT,)
    assert metadata.token_endpoint_auth_method == "none"
    assert (expires_at - clock.now()).total_seconds() == 600


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        pytest.param({}, 3600, id="no-headers-one-hour"),
        pytest.param({"Cache-Control": "no-store"}, 60, id="no-store-one-minute"),
        pytest.param({"Cache-Control": "max-age=600, no-cache"}, 60, id="no-cache-one-minute"),
        pytest.param({"Cache-Control": "max-age=0"}, 60, id="max-age-0-one-minute"),
        pytest.param({"Cache-Control": "max-age=999999"}, 86400, id="capped-at-a-day"),
        pytest.param({"Expires": "Thu, 01 Jan 2026 12:30:00 GMT"}, 1800, id="expires"),
        pytest.param({"Expires": "0"}, 60, id="invalid-expires-one-minute"),
    ],
)
async def test_cache_lifetime_follows_http_caching_headers(
    docs: DocumentServer, clock: FrozenClock, headers: dict[str, str], seconds: int
) -> None:
    url = publish(docs, document(docs.url(PATH)), headers=headers)
    _, expires_at = await load(url, clock)
    assert (expires_at - clock.now()).total_seconds() == seconds


BAD_DOCUMENTS: list[Any] = [
    pytest.param(lambda url: document(url + "/"), InvalidClientMetadata, id="client-id-slash"),
    pytest.param(
        lambda url: document(url.replace("client", "CLIENT")),
        InvalidClientMetadata,
        id="client-id-case",
    ),
    pytest.param(
        lambda url: document("https://evil.example/oauth/client.json"),
        InvalidClientMetadata,
        id="client-id-elsewhere",
    ),
    pytest.param(lambda url: document(url, client_id=None), InvalidClientMetadata, id="no-id"),
    pytest.param(
        lambda url: document(url, redirect_uris=None), InvalidRedirectUri, id="no-redirect-uris"
    ),
    pytest.param(
        lambda url: document(url, redirect_uris=["javascript:alert(1)"]),
        InvalidRedirectUri,
        id="javascript-redirect",
    ),
    pytest.param(
        lambda url: document(url, redirect_uris=["https://agent.example.com/cb#x"]),
        InvalidRedirectUri,
        id="fragment-redirect",
    ),
    pytest.param(
        lambda url: document(url, token_endpoint_auth_method="client_secret_basic"),
        InvalidClientMetadata,
        id="secret-auth-method",
    ),
    pytest.param(
        lambda url: document(url, token_endpoint_auth_method="private_key_jwt"),
        InvalidClientMetadata,
        id="private-key-jwt",
    ),
    pytest.param(
        lambda url: document(url, client_secret="s3cret"), InvalidClientMetadata, id="secret"
    ),
    pytest.param(
        lambda url: document(url, grant_types=["client_credentials"]),
        InvalidClientMetadata,
        id="client-credentials",
    ),
    pytest.param(
        lambda url: document(url, logo_uri="http://agent.example.com/logo.png"),
        InvalidClientMetadata,
        id="http-logo",
    ),
    pytest.param(lambda url: document(url, scope="root"), InvalidClientMetadata, id="scope"),
    pytest.param(
        lambda url: document(url, client_name="Doc \u202etnegA"),
        InvalidClientMetadata,
        id="bidi-override-name",
    ),
    pytest.param(lambda url: b"not json", InvalidClientMetadata, id="not-json"),
    pytest.param(lambda url: [document(url)], InvalidClientMetadata, id="array"),
]


@pytest.mark.parametrize(("make", "error"), BAD_DOCUMENTS)
async def test_bad_documents_are_refused_with_exact_error(
    docs: DocumentServer, clock: FrozenClock, make: Any, error: type[Exception]
) -> None:
    url = publish(docs, make(docs.url(PATH)))
    with pytest.raises(error) as raised:
        await load(url, clock)
    assert type(raised.value) is error


@pytest.mark.parametrize(
    ("route", "message"),
    [
        pytest.param(
            {"status": 302, "headers": {"Location": "https://127.0.0.1/other.json"}},
            "redirects",
            id="redirect",
        ),
        pytest.param({"status": 404}, "HTTP 404", id="not-found"),
        pytest.param({"status": 500}, "HTTP 500", id="server-error"),
        pytest.param({"pad": 6000}, "larger than 5 KB", id="too-large-declared"),
        pytest.param(
            {"pad": 6000, "send_length": False}, "larger than 5 KB", id="too-large-streamed"
        ),
    ],
)
async def test_unacceptable_fetches_are_refused(
    docs: DocumentServer, clock: FrozenClock, route: dict[str, Any], message: str
) -> None:
    url = docs.url(PATH)
    pad = route.pop("pad", 0)
    publish(docs, document(url, client_name="x", padding="p" * pad), **route)
    with pytest.raises(InvalidClient, match=message):
        await load(url, clock)


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b'{"client_name": "' + b" " * 10_000_000 + b'"}', id="gzip-bomb"),
        pytest.param(b"", id="small-document"),
    ],
)
async def test_compressed_documents_are_refused_without_being_decoded(
    docs: DocumentServer, clock: FrozenClock, body: bytes
) -> None:
    url = docs.url(PATH)
    raw = body or json.dumps(document(url)).encode()
    publish(docs, gzip.compress(raw), headers={"Content-Encoding": "gzip"}, send_length=False)
    tracemalloc.start()
    try:
        with pytest.raises(InvalidClient, match="without Content-Encoding"):
            await load(url, clock)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000  # the 10 MB the bomb expands to were never allocated
    assert docs.hits[PATH] == 1


async def test_slow_server_is_refused(
    docs: DocumentServer, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(metadata_documents, "FETCH_TIMEOUT_SECONDS", 0.5)
    url = publish(docs, document(docs.url(PATH)), delay=2.0)
    with pytest.raises(InvalidClient, match="too long"):
        await load(url, clock)


async def test_loopback_is_refused_without_the_test_allowance(
    docs: DocumentServer, clock: FrozenClock
) -> None:
    url = publish(docs, document(docs.url(PATH)))
    with pytest.raises(InvalidClient, match="non-public address"):
        await load(url, clock, allow_loopback=False)
    assert docs.hits.get(PATH) is None  # refused before connecting


async def test_host_name_is_checked_after_resolution(
    docs: DocumentServer, clock: FrozenClock
) -> None:
    url = docs.url(PATH, host="localhost")
    publish(docs, document(url))
    with pytest.raises(InvalidClient, match="non-public address"):
        await load(url, clock, allow_loopback=False)
    metadata, _ = await load(url, clock, allow_loopback=True)  # TLS verified for "localhost"
    assert metadata.client_name == "Doc Agent"


async def test_certificate_is_verified(
    docs: DocumentServer, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = publish(docs, document(docs.url(PATH)))
    monkeypatch.delenv("SSL_CERT_FILE")
    with pytest.raises(InvalidClient, match="could not be fetched"):
        await load(url, clock)


@pytest.mark.parametrize(
    "url",
    [
        pytest.param("https://agent.example.com/", id="root-path"),
        pytest.param("https://agent.example.com", id="no-path"),
        pytest.param("https://user@agent.example.com/client.json", id="userinfo"),
        pytest.param("https://agent.example.com/client.json#frag", id="fragment"),
        pytest.param("https://agent.example.com/a/../client.json", id="dot-segment"),
        pytest.param("https://agent.example.com/c lient.json", id="space"),
        pytest.param("https://agent.example.com:99999/client.json", id="bad-port"),
        pytest.param("https://[::1/client.json", id="unclosed-ipv6-bracket"),
        pytest.param("https://agent.example.com/" + "a" * 600, id="too-long"),
    ],
)
async def test_bad_client_id_urls_are_refused_before_any_lookup(
    clock: FrozenClock, url: str
) -> None:
    with pytest.raises(InvalidClient):
        await load(url, clock)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("10.0.0.1", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),
        ("127.0.0.1", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::", False),
        ("93.184.216.34", True),
        ("2606:4700:4700::1111", True),
        ("::ffff:93.184.216.34", True),
        # IPv4 embedded in IPv6: the embedded address decides too.
        ("64:ff9b::7f00:1", False),  # NAT64 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", False),  # NAT64 of 169.254.169.254
        ("64:ff9b::10.0.0.1", False),
        ("64:ff9b::93.184.216.34", True),
        ("64:ff9b:1::a00:1", False),  # local-use NAT64 prefix
        ("::127.0.0.1", False),  # IPv4-compatible
        ("::10.0.0.1", False),
        ("::169.254.169.254", False),
        ("::93.184.216.34", True),
        ("::ffff:0:127.0.0.1", False),  # IPv4-translated
        ("::ffff:0:192.168.1.1", False),
        ("::ffff:0:93.184.216.34", True),
        ("::ffff:169.254.169.254", False),  # IPv4-mapped
        ("2002:7f00:1::1", False),  # 6to4 of 127.0.0.1
        ("2002:a00:1::1", False),  # 6to4 of 10.0.0.1
        ("2002:a9fe:a9fe::1", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("2001:0:5db8:d8f2:0:0:f5ff:fffe", False),  # Teredo, client 10.0.0.1
    ],
)
def test_only_public_addresses_are_fetched(address: str, allowed: bool) -> None:
    assert address_allowed(address, allow_loopback=False) is allowed


def test_loopback_allowance_admits_loopback_only() -> None:
    assert address_allowed("127.0.0.1", allow_loopback=True) is True
    assert address_allowed("::1", allow_loopback=True) is True
    assert address_allowed("10.0.0.1", allow_loopback=True) is False


def test_only_https_client_ids_are_documents() -> None:
    assert is_metadata_document_url("https://agent.example.com/client.json")
    assert not is_metadata_document_url("http://agent.example.com/client.json")
    assert not is_metadata_document_url("cli_0123")


async def stored_row(services: Services, url: str) -> Any:
    async with services.db.transaction(readonly=True) as conn:
        return (await conn.execute(select(oauth_clients).where(oauth_clients.c.id == url))).first()


async def resolve(services: Services, url: str) -> Any:
    """What authorize and the token endpoint do: prefetch outside, resolve inside."""
    await prefetch(url, services=services)
    async with services.db.transaction() as conn:
        return await resolve_client(conn, url, services=services)


async def test_resolve_client_stores_and_reuses_until_stale(
    docs: DocumentServer, cimd_services: Services, clock: FrozenClock
) -> None:
    url = publish(docs, document(docs.url(PATH)), headers={"Cache-Control": "max-age=300"})
    client = await resolve(cimd_services, url)
    assert client is not None
    assert (client.id, client.name, client.origin, client.verified) == (
        url,
        "Doc Agent",
        "metadata_document",
        False,
    )
    assert client.token_endpoint_auth_method == "none"
    row = await stored_row(cimd_services, url)
    assert row.metadata_expires_at == clock.now().replace(minute=5)
    assert row.client_uri == "https://agent.example.com"

    publish(docs, document(url, client_name="Renamed"), headers={"Cache-Control": "max-age=300"})
    cached = await resolve(cimd_services, url)
    assert cached is not None and cached.name == "Doc Agent"
    assert docs.hits[PATH] == 1

    clock.advance(seconds=301)
    async with cimd_services.db.transaction() as conn:  # stale, and not fetched: unknown
        assert await resolve_client(conn, url, services=cimd_services) is None
    refreshed = await resolve(cimd_services, url)
    assert refreshed is not None and refreshed.name == "Renamed"
    assert docs.hits[PATH] == 2
    assert (await stored_row(cimd_services, url)).created_at == clock.now().replace(
        minute=0, second=0
    )


async def test_stale_document_that_now_fails_makes_the_client_unknown(
    docs: DocumentServer, cimd_services: Services, clock: FrozenClock
) -> None:
    url = publish(docs, document(docs.url(PATH)), headers={"Cache-Control": "max-age=60"})
    assert await resolve(cimd_services, url) is not None
    publish(docs, document(url, redirect_uris=["javascript:alert(1)"]))
    clock.advance(minutes=2)
    assert await resolve(cimd_services, url) is None
    assert (await stored_row(cimd_services, url)).name == "Doc Agent"  # kept for its grants


async def test_resolve_client_refuses_bad_document_and_stores_nothing(
    docs: DocumentServer, cimd_services: Services
) -> None:
    url = publish(docs, document("https://evil.example/oauth/client.json"))
    assert await resolve(cimd_services, url) is None
    assert await stored_row(cimd_services, url) is None


@pytest.mark.parametrize(
    "route",
    [
        pytest.param({"body": {"client_id": "https://evil.example/c.json"}}, id="bad-document"),
        pytest.param({"body": {}, "status": 404}, id="not-found"),
        pytest.param({"body": {}, "status": 500}, id="server-error"),
    ],
)
async def test_a_refusal_is_remembered_for_five_minutes_without_fetching_again(
    docs: DocumentServer, cimd_services: Services, clock: FrozenClock, route: dict[str, Any]
) -> None:
    body, rest = route["body"], {k: v for k, v in route.items() if k != "body"}
    url = publish(docs, body, **rest)
    for _ in range(5):
        assert await resolve(cimd_services, url) is None
    assert docs.hits[PATH] == 1
    clock.advance(minutes=4, seconds=59)
    publish(docs, document(url))  # fixed, but the refusal still stands
    assert await resolve(cimd_services, url) is None
    assert docs.hits[PATH] == 1
    clock.advance(seconds=1)
    client = await resolve(cimd_services, url)
    assert client is not None and client.name == "Doc Agent"
    assert docs.hits[PATH] == 2
    assert await stored_row(cimd_services, url) is not None


async def test_authorize_and_token_requests_share_one_fetch_of_a_refused_document(
    docs: DocumentServer, app_with: Any
) -> None:
    url = publish(docs, document(docs.url(PATH), redirect_uris=["javascript:alert(1)"]))
    async with app_with(cimd_allow_loopback=True) as client:
        for _ in range(3):
            response = await client.get("/api/auth/mcp/authorize", params=authorize_query(url))
            assert response.status_code == 400
        token = await client.post(
            "/api/auth/mcp/token",
            data={"grant_type": "authorization_code", "code": "x", "client_id": url},
        )
    assert token.status_code == 401
    assert token.json()["error"] == "invalid_client"
    assert docs.hits[PATH] == 1


def test_the_refusal_cache_is_bounded_and_drops_its_oldest_entries_first(
    clock: FrozenClock,
) -> None:
    cache = RefusalCache(max_entries=3)
    for name in ("a", "b", "c"):
        cache.remember(f"https://{name}.example/c.json", clock.now())
    cache.remember("https://d.example/c.json", clock.now())
    assert len(cache) == 3
    assert not cache.refused("https://a.example/c.json", clock.now())
    assert cache.refused("https://b.example/c.json", clock.now())
    long_ids = ["https://x.example/" + "a" * 600, "https://x.example/" + "a" * 700]
    cache.remember(long_ids[0], clock.now())
    assert cache.refused(long_ids[1], clock.now())  # both refused for their length
    clock.advance(minutes=5)
    assert not cache.refused("https://d.example/c.json", clock.now())


async def test_resolve_client_without_allowance_never_fetches_loopback(
    docs: DocumentServer, settings: Settings, clock: FrozenClock
) -> None:
    services = Services.build(settings, clock=clock)
    url = publish(docs, document(docs.url(PATH)))
    try:
        assert await resolve(services, url) is None
    finally:
        await services.db.dispose()
    assert docs.hits.get(PATH) is None


async def test_resolve_client_never_fetches_by_itself(
    docs: DocumentServer, cimd_services: Services
) -> None:
    url = publish(docs, document(docs.url(PATH)))
    async with cimd_services.db.transaction() as conn:
        assert await resolve_client(conn, url, services=cimd_services) is None
    assert docs.hits.get(PATH) is None


async def test_resolve_client_returns_registered_clients_from_the_database(
    cimd_services: Services,
) -> None:
    assert await resolve(cimd_services, "cli_unknown") is None


def authorize_query(client_id: str, redirect_uri: str = REDIRECT) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "scope": "keys:read",
        "state": "s1",
        "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
        "code_challenge_method": "S256",
    }


async def test_authorize_accepts_a_metadata_document_client(
    docs: DocumentServer, app_with: Any
) -> None:
    url = publish(docs, document(docs.url(PATH)))
    async with app_with(cimd_allow_loopback=True) as client:
        response = await client.get("/api/auth/mcp/authorize", params=authorize_query(url))
        assert response.status_code == 303
        assert response.headers["location"].startswith("/login")
        services = client.app.state.services  # type: ignore[attr-defined]
        row = await stored_row(services, url)
    assert (row.origin, row.verified) == ("metadata_document", False)


@pytest.mark.parametrize(
    ("make", "redirect_uri"),
    [
        pytest.param(lambda url: document(url), "http://127.0.0.1/other", id="unlisted-redirect"),
        pytest.param(lambda url: document(url + "x"), REDIRECT, id="client-id-mismatch"),
        pytest.param(
            lambda url: document(url, redirect_uris=["javascript:alert(1)"]),
            "javascript:alert(1)",
            id="javascript-redirect",
        ),
    ],
)
async def test_authorize_refuses_bad_documents_with_an_error_page(
    docs: DocumentServer, app_with: Any, make: Any, redirect_uri: str
) -> None:
    url = publish(docs, make(docs.url(PATH)))
    async with app_with(cimd_allow_loopback=True) as client:
        response = await client.get(
            "/api/auth/mcp/authorize", params=authorize_query(url, redirect_uri)
        )
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")


async def test_errors_of_a_metadata_document_client_are_never_redirected(
    docs: DocumentServer, app_with: Any
) -> None:
    """With registration off, a document is still accepted: its redirect URI is the
    attacker's to choose, so an error goes to a page (RFC 9700 §4.11.2)."""
    lure = "https://evil.example/login"
    url = publish(docs, document(docs.url(PATH), redirect_uris=[lure]))
    async with app_with(cimd_allow_loopback=True, registration_enabled=False) as client:
        response = await client.get(
            "/api/auth/mcp/authorize",
            params={"client_id": url, "redirect_uri": lure, "response_type": "x"},
        )
        services = client.app.state.services  # type: ignore[attr-defined]
        async with services.db.transaction(readonly=True) as conn:
            stored = (await conn.execute(select(func.count()).select_from(requests))).scalar()
    assert response.status_code == 400
    assert "location" not in response.headers
    assert response.headers["content-type"].startswith("text/html")
    assert "(error code: unsupported_response_type)" in response.text
    assert "evil.example" not in response.text
    assert stored == 0


async def test_authorize_never_fetches_loopback_documents_in_production(
    docs: DocumentServer, app_with: Any
) -> None:
    url = publish(docs, document(docs.url(PATH)))
    async with app_with() as client:
        response = await client.get("/api/auth/mcp/authorize", params=authorize_query(url))
    assert response.status_code == 400
    assert docs.hits.get(PATH) is None


@pytest.mark.parametrize(
    "answers",
    [
        pytest.param(["93.184.216.34", "10.0.0.5"], id="public-then-private"),
        pytest.param(["10.0.0.5", "93.184.216.34"], id="private-then-public"),
        pytest.param(["2606:4700:4700::1111", "fe80::1"], id="public-then-link-local"),
        pytest.param(["169.254.169.254"], id="cloud-metadata"),
        pytest.param([], id="no-address"),
    ],
)
async def test_a_host_with_any_non_public_address_is_refused(
    monkeypatch: pytest.MonkeyPatch, clock: FrozenClock, answers: list[str]
) -> None:
    async def resolve(host: str, port: int, **_: Any) -> list[Any]:
        return [(0, 0, 0, "", (address, port)) for address in answers]

    monkeypatch.setattr(metadata_documents.anyio, "getaddrinfo", resolve)
    with pytest.raises(InvalidClient, match="non-public address"):
        await load("https://agent.example.com/oauth/client.json", clock, allow_loopback=False)


async def test_unresolvable_host_is_refused(
    monkeypatch: pytest.MonkeyPatch, clock: FrozenClock
) -> None:
    async def resolve(host: str, port: int, **_: Any) -> list[Any]:
        raise OSError("no such host")

    monkeypatch.setattr(metadata_documents.anyio, "getaddrinfo", resolve)
    with pytest.raises(InvalidClient, match="does not resolve"):
        await load("https://agent.example.com/oauth/client.json", clock)
