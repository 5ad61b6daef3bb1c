"""``idempotency_key`` on the SDK's writes: sent as ``Idempotency-Key`` (and only when given),
the same on every retry of one call, a 409 ``idempotency_key_in_flight`` retried under the
`RetryPolicy`, and the typed errors of both idempotency answers."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

from i18n_connect.client import (
    Conflict,
    ConnectClient,
    IdempotencyKeyInFlight,
    IdempotencyKeyReused,
    PartnerAPI,
    RetryPolicy,
    SyncConnectClient,
)

ISSUER = "http://issuer.test"
KEY = "0b6f1c8e-5a2d-4c3b-9e7f-1a2b3c4d5e6f"

WRITES: dict[str, Callable[[PartnerAPI, str | None], Awaitable[Any]]] = {
    "create_project": lambda api, k: api.create_project("Web", "web", "en", idempotency_key=k),
    "add_language": lambda api, k: api.add_language("prj_1", "de", idempotency_key=k),
    "create_keys": lambda api, k: api.create_keys("prj_1", [{"name": "a"}], idempotency_key=k),
    "update_keys": lambda api, k: api.update_keys("prj_1", [{"name": "a"}], idempotency_key=k),
    "delete_keys": lambda api, k: api.delete_keys("prj_1", ["a"], idempotency_key=k),
    "set_translations": lambda api, k: api.set_translations(
        "prj_1", "de", {"a": "A"}, idempotency_key=k
    ),
    "publish": lambda api, k: api.publish("prj_1", ["de"], idempotency_key=k),
    "save_glossary": lambda api, k: api.save_glossary(
        "prj_1", [{"term": "Workspace"}], idempotency_key=k
    ),
    "delete_glossary_terms": lambda api, k: api.delete_glossary_terms(
        "prj_1", ["Workspace"], idempotency_key=k
    ),
    "save_content_entry": lambda api, k: api.save_content_entry(
        "prj_1", "page", "home", {"title": {"en": "Home"}}, idempotency_key=k
    ),
    "publish_content": lambda api, k: api.publish_content("prj_1", "page", idempotency_key=k),
}
ANSWER = {
    "id": "prj_1",
    "keys": [],
    "deleted": [],
    "published": 0,
    "terms": [],
    "language": "de",
    "written": 1,
}


@pytest.mark.parametrize("name", sorted(WRITES))
@pytest.mark.parametrize("key", [KEY, None], ids=["with-key", "without-key"])
async def test_each_write_sends_the_key_only_when_given(name: str, key: str | None) -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        published: Any = [] if "/models/" in request.url.path else 0
        return httpx.Response(200, json={**ANSWER, "published": published})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with ConnectClient(ISSUER, "cid", http=http) as client:
        await WRITES[name](client.partner_api("bi_oat_1"), key)
    await http.aclose()
    (request,) = seen
    assert request.method in ("POST", "PUT", "PATCH")
    assert request.headers.get("idempotency-key") == key


async def test_a_running_key_is_retried_with_the_same_key_and_body() -> None:
    seen: list[httpx.Request] = []
    waits: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if len(seen) < 3:
            body = {"error": "idempotency_key_in_flight", "error_description": "running"}
            return httpx.Response(409, json=body, headers={"Retry-After": "2"})
        return httpx.Response(201, json={"keys": [{"name": "a"}]})

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with ConnectClient(ISSUER, "cid", http=http, retry=RetryPolicy(), sleep=sleep) as client:
        created = await client.partner_api("bi_oat_1").create_keys(
            "prj_1", [{"name": "a"}], idempotency_key=KEY
        )
    await http.aclose()
    assert created == [{"name": "a"}]
    assert waits == [2.0, 2.0]
    assert {r.headers["idempotency-key"] for r in seen} == {KEY}
    assert len({r.content for r in seen}) == 1


async def test_without_a_retry_policy_the_errors_are_typed() -> None:
    answers = iter(
        [
            httpx.Response(
                409,
                json={"error": "idempotency_key_in_flight", "error_description": "running"},
                headers={"Retry-After": "1"},
            ),
            httpx.Response(
                422, json={"error": "idempotency_key_reused", "error_description": "other"}
            ),
        ]
    )
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda _r: next(answers)))
    async with ConnectClient(ISSUER, "cid", http=http) as client:
        api = client.partner_api("bi_oat_1")
        with pytest.raises(IdempotencyKeyInFlight) as running:
            await api.publish("prj_1", idempotency_key=KEY)
        with pytest.raises(IdempotencyKeyReused) as reused:
            await api.publish("prj_1", ["fr"], idempotency_key=KEY)
    await http.aclose()
    assert isinstance(running.value, Conflict)  # a 409 like any other conflict
    assert (running.value.status, running.value.retry_after) == (409, 1.0)
    assert (reused.value.status, reused.value.error) == (422, "idempotency_key_reused")


async def test_a_plain_conflict_is_not_retried() -> None:
    calls: list[int] = []

    def handler(_request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(409, json={"error": "conflict", "error_description": "exists"})

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with ConnectClient(ISSUER, "cid", http=http, retry=RetryPolicy()) as client:
        with pytest.raises(Conflict) as raised:
            await client.partner_api("bi_oat_1").create_keys(
                "prj_1", [{"name": "a"}], idempotency_key=KEY
            )
    await http.aclose()
    assert not isinstance(raised.value, IdempotencyKeyInFlight)
    assert calls == [1]


def test_the_sync_partner_api_passes_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"published": 3})

    with SyncConnectClient(ISSUER, "cid", transport=httpx.MockTransport(handler)) as client:
        assert client.partner_api("bi_oat_1").publish("prj_1", idempotency_key=KEY) == 3
    assert seen[0].headers["idempotency-key"] == KEY
