"""The SDK's paged lists: the ``iter_…`` helpers follow ``next_cursor`` one page at a time,
the list helpers return every page, ``keys_page`` is one page, and the blocking client's
``iter_…`` helpers are plain iterators."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from i18n_connect.client import ConnectClient, NotFound, SyncConnectClient

ISSUER = "http://issuer.test"
P = "/api/oauth-client/v1/projects/prj_1"


class Pages:
    """A fake server listing ``names`` by ``field``, ``limit`` a page (2 unless asked)."""

    def __init__(self, field: str, names: list[str], key: str = "name") -> None:
        self.field, self.names, self.key = field, names, key
        self.seen: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        limit = int(request.url.params.get("limit", "2"))
        start = int(request.url.params.get("cursor", "c0").removeprefix("c"))
        page = self.names[start : start + limit]
        more = start + limit < len(self.names)
        body: dict[str, Any] = {
            self.field: [{self.key: name} for name in page],
            "next_cursor": f"c{start + limit}" if more else None,
        }
        if self.field == "translations":
            body["language"] = "de"
        return httpx.Response(200, json=body)

    def queries(self) -> list[dict[str, str]]:
        return [dict(request.url.params) for request in self.seen]


async def test_iter_keys_follows_next_cursor_a_page_at_a_time() -> None:
    server = Pages("keys", ["a", "b", "c", "d", "e"])
    http = httpx.AsyncClient(transport=httpx.MockTransport(server))
    async with ConnectClient(ISSUER, "cid", http=http) as client:
        keys = client.partner_api("bi_oat_1").iter_keys("prj_1", prefix="x.", page_size=2)
        first = await anext(keys)
        assert first == {"name": "a"}
        assert len(server.seen) == 1  # the second page only when the first is used up
        rest = [key["name"] async for key in keys]
    await http.aclose()
    assert rest == ["b", "c", "d", "e"]
    assert {request.url.path for request in server.seen} == {P + "/keys"}
    assert server.queries() == [
        {"prefix": "x.", "limit": "2"},
        {"prefix": "x.", "limit": "2", "cursor": "c2"},
        {"prefix": "x.", "limit": "2", "cursor": "c4"},
    ]


@pytest.mark.parametrize(
    ("field", "key", "path", "call"),
    [
        ("projects", "id", "/api/oauth-client/organizations/org_1/projects", "projects"),
        ("terms", "term", P + "/glossary", "glossary"),
        ("entries", "slug", P + "/models/post/entries", "content_entries"),
        (
            "models",
            "slug",
            "/api/oauth-client/organizations/acme/projects/web/models",
            "content_models",
        ),
        ("organizations", "id", "/api/oauth-client/organizations", "organizations"),
    ],
)
async def test_the_list_helpers_return_every_page(
    field: str, key: str, path: str, call: str
) -> None:
    server = Pages(field, ["p1", "p2", "p3"], key=key)
    http = httpx.AsyncClient(transport=httpx.MockTransport(server))
    arguments = {
        "projects": ("org_1",),
        "glossary": ("prj_1",),
        "content_entries": ("prj_1", "post"),
        "content_models": ("acme", "web"),
        "organizations": (),
    }[call]
    async with ConnectClient(ISSUER, "cid", http=http) as client:
        found = await getattr(client.partner_api("bi_oat_1"), call)(*arguments)
    await http.aclose()
    assert found == [{key: "p1"}, {key: "p2"}, {key: "p3"}]
    assert [request.url.path for request in server.seen] == [path, path]
    assert server.queries() == [{}, {"cursor": "c2"}]


async def test_translations_joins_the_pages_of_one_language() -> None:
    server = Pages("translations", ["a", "b", "c"], key="key")
    http = httpx.AsyncClient(transport=httpx.MockTransport(server))
    async with ConnectClient(ISSUER, "cid", http=http) as client:
        found = await client.partner_api("bi_oat_1").translations("prj_1", "de")
    await http.aclose()
    assert found == {"language": "de", "translations": [{"key": "a"}, {"key": "b"}, {"key": "c"}]}


async def test_keys_page_is_one_page_with_its_cursor() -> None:
    server = Pages("keys", ["a", "b", "c"])
    http = httpx.AsyncClient(transport=httpx.MockTransport(server))
    async with ConnectClient(ISSUER, "cid", http=http) as client:
        api = client.partner_api("bi_oat_1")
        first = await api.keys_page("prj_1", limit=2)
        last = await api.keys_page("prj_1", limit=2, cursor=first["next_cursor"])
    await http.aclose()
    assert first == {"keys": [{"name": "a"}, {"name": "b"}], "next_cursor": "c2"}
    assert last == {"keys": [{"name": "c"}], "next_cursor": None}
    assert server.queries() == [{"limit": "2"}, {"limit": "2", "cursor": "c2"}]


async def test_a_server_without_next_cursor_is_one_page() -> None:
    """An answer without the field (an older server) ends the list."""
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(
            lambda r: httpx.Response(200, json={"terms": [{"term": "a"}]})
        )
    )
    async with ConnectClient(ISSUER, "cid", http=http) as client:
        assert await client.partner_api("bi_oat_1").glossary("prj_1") == [{"term": "a"}]
    await http.aclose()


async def test_an_error_on_a_later_page_is_raised_by_the_iterator() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if "cursor" in request.url.params:
            return httpx.Response(
                404, json={"error": "not_found", "error_description": "No such project."}
            )
        return httpx.Response(200, json={"keys": [{"name": "a"}], "next_cursor": "c1"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    seen: list[str] = []
    async with ConnectClient(ISSUER, "cid", http=http) as client:
        with pytest.raises(NotFound):
            async for key in client.partner_api("bi_oat_1").iter_keys("prj_1"):
                seen.append(key["name"])
    await http.aclose()
    assert seen == ["a"]


def test_the_blocking_iter_helpers_are_plain_iterators() -> None:
    server = Pages("terms", ["t1", "t2", "t3"], key="term")
    with SyncConnectClient(ISSUER, "cid", transport=httpx.MockTransport(server)) as client:
        terms = client.partner_api("bi_oat_1").iter_glossary("prj_1", page_size=2)
        assert next(terms) == {"term": "t1"}
        assert len(server.seen) == 1
        assert [term["term"] for term in terms] == ["t2", "t3"]
    assert server.queries() == [{"limit": "2"}, {"limit": "2", "cursor": "c2"}]
