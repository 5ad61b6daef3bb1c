"""Each partner-API helper calls its SPEC §4 route with the installation token and its body."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from i18n_connect.client import ConnectClient, PartnerAPI, SyncConnectClient

ISSUER = "http://issuer.test"
P = "/api/oauth-client/v1/projects/prj_1"

CASES: list[tuple[str, Callable[[PartnerAPI], Awaitable[Any]], str, str, Any, Any, Any]] = [
    # id, call, method, path, request body, response body, expected result
    (
        "organizations",
        lambda api: api.organizations(),
        "GET",
        "/api/oauth-client/organizations",
        None,
        {"organizations": [{"id": "org_1", "slug": "acme", "name": "Acme"}]},
        [{"id": "org_1", "slug": "acme", "name": "Acme"}],
    ),
    (
        "projects",
        lambda api: api.projects("org_1"),
        "GET",
        "/api/oauth-client/organizations/org_1/projects",
        None,
        {"projects": [{"id": "prj_1"}]},
        [{"id": "prj_1"}],
    ),
    (
        "create_project",
        lambda api: api.create_project("Web", "web", "en"),
        "POST",
        "/api/oauth-client/v1/projects",
        {"name": "Web", "slug": "web", "source_language": "en"},
        {"id": "prj_2"},
        {"id": "prj_2"},
    ),
    ("project", lambda api: api.project("prj_1"), "GET", P, None, {"id": "prj_1"}, {"id": "prj_1"}),
    (
        "add_language",
        lambda api: api.add_language("prj_1", "de"),
        "POST",
        P + "/languages",
        {"code": "de"},
        {"id": "prj_1", "languages": ["en", "de"]},
        {"id": "prj_1", "languages": ["en", "de"]},
    ),
    (
        "content_models",
        lambda api: api.content_models("acme", "web"),
        "GET",
        "/api/oauth-client/organizations/acme/projects/web/models",
        None,
        {"models": [{"slug": "post"}]},
        [{"slug": "post"}],
    ),
    (
        "keys",
        lambda api: api.keys("prj_1", prefix="nav."),
        "GET",
        P + "/keys",
        None,
        {"keys": [{"name": "nav.home"}]},
        [{"name": "nav.home"}],
    ),
    (
        "create_keys",
        lambda api: api.create_keys("prj_1", [{"name": "a"}]),
        "POST",
        P + "/keys",
        {"keys": [{"name": "a"}]},
        {"keys": [{"name": "a"}]},
        [{"name": "a"}],
    ),
    (
        "update_keys",
        lambda api: api.update_keys("prj_1", [{"name": "a", "translations": {"de": "A"}}]),
        "PATCH",
        P + "/keys",
        {"keys": [{"name": "a", "translations": {"de": "A"}}]},
        {"keys": [{"name": "a"}]},
        [{"name": "a"}],
    ),
    (
        "delete_keys",
        lambda api: api.delete_keys("prj_1", ["a"]),
        "POST",
        P + "/keys/delete",
        {"names": ["a"]},
        {"deleted": ["a"]},
        ["a"],
    ),
    (
        "translations",
        lambda api: api.translations("prj_1", "pt-BR"),
        "GET",
        P + "/translations/pt-BR",
        None,
        {"language": "pt-BR", "translations": []},
        {"language": "pt-BR", "translations": []},
    ),
    (
        "set_translations",
        lambda api: api.set_translations("prj_1", "de", {"a": "A"}),
        "PUT",
        P + "/translations/de",
        {"translations": {"a": "A"}},
        {"language": "de", "written": 1},
        {"language": "de", "written": 1},
    ),
    (
        "publish",
        lambda api: api.publish("prj_1", ["de"]),
        "POST",
        P + "/publish",
        {"languages": ["de"]},
        {"published": 3},
        3,
    ),
    (
        "glossary",
        lambda api: api.glossary("prj_1"),
        "GET",
        P + "/glossary",
        None,
        {"terms": [{"term": "Checkout"}]},
        [{"term": "Checkout"}],
    ),
    (
        "save_glossary",
        lambda api: api.save_glossary("prj_1", [{"term": "Cart"}]),
        "PUT",
        P + "/glossary",
        {"terms": [{"term": "Cart"}]},
        {"terms": [{"term": "Cart"}]},
        [{"term": "Cart"}],
    ),
    (
        "delete_glossary_terms",
        lambda api: api.delete_glossary_terms("prj_1", ["Cart"]),
        "POST",
        P + "/glossary/delete",
        {"terms": ["Cart"]},
        {"deleted": ["Cart"]},
        ["Cart"],
    ),
    (
        "content_entries",
        lambda api: api.content_entries("prj_1", "post"),
        "GET",
        P + "/models/post/entries",
        None,
        {"entries": [{"slug": "hello"}]},
        [{"slug": "hello"}],
    ),
    (
        "content_entry",
        lambda api: api.content_entry("prj_1", "post", "hello"),
        "GET",
        P + "/models/post/entries/hello",
        None,
        {"slug": "hello"},
        {"slug": "hello"},
    ),
    (
        "save_content_entry",
        lambda api: api.save_content_entry("prj_1", "post", "hello", {"title": {"en": "Hi"}}),
        "PUT",
        P + "/models/post/entries/hello",
        {"data": {"title": {"en": "Hi"}}},
        {"slug": "hello"},
        {"slug": "hello"},
    ),
    (
        "publish_content",
        lambda api: api.publish_content("prj_1", "post", ["hello"]),
        "POST",
        P + "/models/post/publish",
        {"entries": ["hello"]},
        {"published": ["hello"]},
        ["hello"],
    ),
]


@pytest.mark.parametrize(
    ("call", "method", "path", "sent", "answer", "expected"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_helper_calls_its_route(
    call: Callable[[PartnerAPI], Awaitable[Any]],
    method: str,
    path: str,
    sent: Any,
    answer: Any,
    expected: Any,
) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json=answer)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with ConnectClient(ISSUER, "cid", http=http) as client:
        assert await call(client.partner_api("bi_oat_1")) == expected
    await http.aclose()
    (request,) = seen
    assert (request.method, request.url.path) == (method, path)
    assert request.headers["authorization"] == "Bearer bi_oat_1"
    assert (json.loads(request.content) if request.content else None) == sent


async def test_path_segments_are_escaped() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"id": "x"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with ConnectClient(ISSUER, "cid", http=http) as client:
        await client.partner_api("bi_oat_1").project("../installations/grt_1")
    await http.aclose()
    assert seen[0].url.raw_path == b"/api/oauth-client/v1/projects/..%2Finstallations%2Fgrt_1"


async def test_an_async_token_source_is_asked_once_per_call() -> None:
    asked: list[int] = []

    async def token() -> str:
        asked.append(1)
        return "bi_oat_fresh"

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Bearer bi_oat_fresh"
        return httpx.Response(200, json={"organizations": []})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with ConnectClient(ISSUER, "cid", http=http) as client:
        api = client.partner_api(token)
        await api.organizations()
        await api.organizations()
    await http.aclose()
    assert len(asked) == 2


def test_sync_partner_api_blocks_and_returns_the_result() -> None:
    transport = httpx.MockTransport(
        lambda r: httpx.Response(200, json={"projects": [{"id": "prj_1"}]})
    )
    with SyncConnectClient(ISSUER, "cid", transport=transport) as client:
        assert client.partner_api("bi_oat_1").projects("org_1") == [{"id": "prj_1"}]
