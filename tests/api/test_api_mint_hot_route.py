"""Mint as a hot route (`web.hot_routes`): every request gets the answer the FastAPI route
gives, byte for byte. The same request with a query string is the FastAPI route's (the hot
routes take none, and mint reads no query); the hot endpoint answers an empty or valid JSON
body itself and declines any other, which the FastAPI route then answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import httpx
import pytest
from api_world import World
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from i18n_connect.api import installation_routes
from i18n_connect.clock import FrozenClock
from i18n_connect.storage.oauth_tables import installation_tokens
from i18n_connect.storage.tables import audit_events
from i18n_connect.web.hot_routes import MAX_PARAMETER_LENGTH, Declined

MINT = "/api/oauth-client/installations/{}/tokens"
VIA_ROUTER = "?via=router"
JSON = {"Content-Type": "application/json"}

Taken = list[str]
Sent = dict[str, Any]  # the httpx keyword arguments of one POST


@pytest.fixture
def taken(monkeypatch: pytest.MonkeyPatch) -> Taken:
    """What the hot endpoint did with each request it was given: answered it (an error
    answer included) or declined it."""
    outcomes: Taken = []
    endpoint: Callable[[Request], Awaitable[Response]] = installation_routes.mint_route.endpoint

    async def watched(request: Request) -> Response:
        outcome = "answered"
        try:
            return await endpoint(request)
        except Declined:
            outcome = "declined"
            raise
        finally:
            outcomes.append(outcome)

    monkeypatch.setattr(installation_routes.mint_route, "endpoint", watched)
    return outcomes


def _seen(response: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers (but the request id) and body, a minted secret masked."""
    body = response.content
    if response.status_code == 201:
        body = body.replace(response.json()["installation_token"].encode(), b"<secret>")
    headers = [(name, value) for name, value in response.headers.multi_items()]
    return response.status_code, [pair for pair in headers if pair[0] != "x-request-id"], body


async def _both(world: World, taken: Taken, url: str, sent: Sent, outcome: str) -> Any:
    """Send the request to the hot route, then to the FastAPI route; the same answer."""
    hot = await world.http.post(url, **sent)
    assert taken == [outcome]
    routed = await world.http.post(url + VIA_ROUTER, **sent)
    assert taken == [outcome]
    assert _seen(hot) == _seen(routed)
    return hot


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize(
    ("sent", "status"),
    [
        pytest.param({}, 201, id="no-body"),
        pytest.param({"json": {}}, 201, id="empty-object"),
        pytest.param({"json": {"scopes": ["keys:read", "org:read"]}}, 201, id="scopes"),
        pytest.param({"json": {"project_ids": ["acme/web"]}}, 201, id="project"),
        pytest.param({"json": {"project_ids": None, "scopes": None}}, 201, id="nulls"),
        pytest.param({"json": {"project_ids": []}}, 201, id="no-projects"),
        pytest.param(
            {
                "content": b'{"scopes":["org:read"]}',
                "headers": {"Content-Type": "Application/JSON"},
            },
            201,
            id="content-type-case",
        ),
        pytest.param(
            {"content": b"{}", "headers": {"Content-Type": "application/json; charset=utf-8"}},
            201,
            id="content-type-charset",
        ),
        pytest.param({"content": b"", "headers": {"Content-Type": "text/plain"}}, 201, id="empty"),
        pytest.param({"json": {"scopes": []}}, 400, id="no-scopes"),
        pytest.param({"json": {"scopes": ["admin:all"]}}, 400, id="unknown-scope"),
        pytest.param({"json": {"project_ids": ["globex/web"]}}, 400, id="foreign-project"),
        pytest.param({"json": {"project_ids": ["prj_unknown"]}}, 400, id="unknown-project"),
        pytest.param({"headers": {"Idempotency-Key": "k1"}}, 201, id="idempotency-key"),
    ],
)
async def test_the_hot_route_answers_bodies_it_takes_as_the_router_does(
    world: World, taken: Taken, sent: Sent, status: int
) -> None:
    if "json" in sent and sent["json"].get("project_ids"):
        projects = [world.projects.get(name, name) for name in sent["json"]["project_ids"]]
        sent = {"json": {**sent["json"], "project_ids": projects}}
    headers = {**sent.get("headers", {}), **bearer(await world.access_token())}
    hot = await _both(
        world, taken, MINT.format(world.grants["acme"]), {**sent, "headers": headers}, "answered"
    )
    assert hot.status_code == status


@pytest.mark.parametrize(
    ("sent", "status"),
    [
        pytest.param({"content": b'{"scopes": ['}, 400, id="malformed-json"),
        pytest.param({"content": b"\xff\xfe"}, 400, id="not-utf-8"),
        pytest.param({"content": b"[" * 100_000}, 400, id="too-deep"),
        pytest.param({"content": b"null"}, 201, id="null"),
        pytest.param({"content": b"[]"}, 400, id="an-array"),
        pytest.param({"json": {"scope": ["keys:read"]}}, 400, id="unknown-field"),
        pytest.param({"json": {"scopes": "keys:read"}}, 400, id="scopes-not-a-list"),
        pytest.param({"json": {"scopes": [1]}}, 400, id="scope-not-a-string"),
        pytest.param({"json": {"project_ids": {"a": 1}}}, 400, id="projects-not-a-list"),
        pytest.param({"content": b'{"project_ids":["\\ud800"]}'}, 400, id="unpaired-surrogate"),
        pytest.param({"content": b'{"scopes":["\\uDC00x"]}'}, 400, id="lone-low-surrogate"),
        pytest.param({"content": b'{"\\ud800":1}'}, 400, id="surrogate-in-a-key"),
        pytest.param({"content": b'{"scopes":["\xed\xa0\x80"]}'}, 400, id="encoded-surrogate"),
    ],
)
async def test_bodies_the_hot_route_declines_are_answered_by_the_router(
    world: World, taken: Taken, sent: Sent, status: int
) -> None:
    headers = {**JSON, **bearer(await world.access_token())}
    hot = await _both(
        world, taken, MINT.format(world.grants["acme"]), {**sent, "headers": headers}, "declined"
    )
    assert hot.status_code == status


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "json"]
)
async def test_a_body_of_another_content_type_is_declined(
    world: World, taken: Taken, content_type: str | None
) -> None:
    headers = bearer(await world.access_token())
    if content_type is not None:
        headers["Content-Type"] = content_type
    sent = {"content": b"{}", "headers": headers}
    hot = await _both(world, taken, MINT.format(world.grants["acme"]), sent, "declined")
    assert hot.status_code == 400


async def test_the_body_is_read_before_the_token_is_checked(world: World, taken: Taken) -> None:
    sent = {"content": b"{", "headers": JSON}  # no token: the malformed body is the answer
    hot = await _both(world, taken, MINT.format(world.grants["acme"]), sent, "declined")
    assert (hot.status_code, hot.json()["error"]) == (400, "invalid_request")


async def test_a_body_that_cannot_be_read_is_the_routers_400(world: World, taken: Taken) -> None:
    limit = world.services.settings.max_body_bytes

    async def chunked() -> AsyncIterator[bytes]:  # no length: refused once over the limit
        for _ in range(limit // 1024 + 1):
            yield b" " * 1024

    url = MINT.format(world.grants["acme"])
    headers = {**JSON, **bearer(await world.access_token())}
    hot = await world.http.post(url, content=chunked(), headers=headers)
    assert taken == ["answered"]
    routed = await world.http.post(url + VIA_ROUTER, content=chunked(), headers=headers)
    assert _seen(hot) == _seen(routed)
    assert hot.json() == {"detail": "There was an error parsing the body"}


@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        pytest.param("no-token", 401, "invalid_token", id="no-token"),
        pytest.param("basic", 401, "invalid_token", id="basic-credentials"),
        pytest.param("garbage", 401, "invalid_token", id="garbage-token"),
        pytest.param("installation-token", 401, "invalid_token", id="installation-token"),
        pytest.param("x-api-key", 401, "invalid_token", id="access-token-as-x-api-key"),
        pytest.param("mcp-audience", 401, "invalid_token", id="mcp-audience"),
        pytest.param("expired", 401, "invalid_token", id="expired-access-token"),
        pytest.param("other-client", 404, "grant_not_found", id="other-clients-token"),
        pytest.param("not-covered", 404, "grant_not_found", id="grant-not-covered"),
        pytest.param("unknown-grant", 404, "grant_not_found", id="unknown-grant"),
        pytest.param("odd-grant", 404, "grant_not_found", id="odd-characters"),
        pytest.param("longest-grant", 404, "grant_not_found", id="longest-grant-id"),
        pytest.param("revoked", 410, "grant_revoked", id="revoked-grant"),
    ],
)
async def test_refusals_are_the_routers(
    world: World, taken: Taken, clock: FrozenClock, case: str, status: int, error: str
) -> None:
    grant_id = world.grants["acme"]
    headers: dict[str, str] = {}
    if case == "basic":
        headers = {"Authorization": "Basic dXNlcjpwYXNz"}
    elif case == "garbage":
        headers = bearer("not-a-token")
    elif case == "installation-token":
        headers = bearer(await world.mint())
    elif case == "x-api-key":
        headers = {"x-api-key": await world.access_token()}
    elif case == "mcp-audience":
        headers = bearer(await world.access_token(audience=world.services.settings.mcp_resource))
    elif case == "expired":
        headers = bearer(await world.access_token())
        clock.advance(minutes=30)
    elif case == "other-client":
        headers = bearer(await world.access_token(client_id=world.other_client_id))
    elif case == "not-covered":
        headers = bearer(await world.access_token(("globex",)))
    elif case in ("unknown-grant", "odd-grant", "longest-grant"):
        headers = bearer(await world.access_token())
        grant_id = {
            "unknown-grant": "grt_unknown",
            "odd-grant": "gr%C3%BCnt%20x.y~z%0A",
            "longest-grant": "g" * MAX_PARAMETER_LENGTH,
        }[case]
    elif case == "revoked":
        headers = bearer(await world.access_token())
        revoked = await world.http.delete(
            f"/api/oauth-client/installations/{grant_id}", headers=headers
        )
        assert revoked.status_code == 204
    taken.clear()  # the installation token was minted through the hot route
    hot = await _both(world, taken, MINT.format(grant_id), {"headers": headers}, "answered")
    assert (hot.status_code, hot.json()["error"]) == (status, error)


@pytest.mark.parametrize("grant_id", ["g" * (MAX_PARAMETER_LENGTH + 1), "a/b", "%2F"])
async def test_grant_ids_the_hot_route_never_sees(
    world: World, taken: Taken, grant_id: str
) -> None:
    sent = {"headers": bearer(await world.access_token())}
    response = await world.http.post(MINT.format(grant_id), **sent)
    assert taken == []
    assert response.status_code in (400, 404)


async def test_the_rate_limit_is_the_routers(
    world: World, taken: Taken, clock: FrozenClock
) -> None:
    world.services.settings.mint_rate_per_minute = 1
    clock.advance(seconds=60 - clock.now().second)  # the start of a window
    sent = {"headers": bearer(await world.access_token())}
    url = MINT.format(world.grants["acme"])
    assert (await world.http.post(url, **sent)).status_code == 201
    clock.advance(seconds=15)
    taken.clear()
    limited = await _both(world, taken, url, sent, "answered")
    assert (limited.status_code, limited.headers["Retry-After"]) == (429, "45")


async def test_both_store_the_same_token_and_audit_event(world: World, taken: Taken) -> None:
    sent = {
        "json": {"project_ids": [world.projects["acme/web"]], "scopes": ["keys:read"]},
        "headers": bearer(await world.access_token()),
    }
    await _both(world, taken, MINT.format(world.grants["acme"]), sent, "answered")
    minted = audit_events.c.action == "installation_token.minted"
    async with world.services.db.transaction(readonly=True) as conn:
        stored = {row.id: row._asdict() for row in await conn.execute(select(installation_tokens))}
        events = list(await conn.execute(select(audit_events).where(minted).order_by("id")))
    hot, routed = (stored.pop(event.detail["token_id"]) for event in events)
    assert stored == {}
    for row in (hot, routed):
        del row["id"], row["token_hash"]
    assert hot == routed
    hot_event, routed_event = (
        {**event._asdict(), "id": None, "detail": {**event.detail, "token_id": None}}
        for event in events
    )
    assert hot_event == routed_event


async def test_an_unpaired_surrogate_is_refused_before_the_token_is_checked_and_stores_nothing(
    world: World, taken: Taken
) -> None:
    """JSON may escape a lone surrogate (RFC 8259 §8.2) and `json.loads` decodes it, but the
    database cannot bind it: both routes refuse the body, even without a token."""
    url = MINT.format(world.grants["acme"])
    async with world.services.db.transaction(readonly=True) as conn:
        events_before = list(await conn.execute(select(audit_events)))
    for headers in (JSON, {**JSON, **bearer(await world.access_token())}):
        taken.clear()
        sent = {"content": b'{"project_ids":["\\ud800"]}', "headers": headers}
        hot = await _both(world, taken, url, sent, "declined")
        assert (hot.status_code, hot.json()) == (
            400,
            {
                "error": "invalid_request",
                "error_description": (
                    "The request body holds text that is not valid Unicode (an unpaired surrogate)."
                ),
            },
        )
    async with world.services.db.transaction(readonly=True) as conn:
        assert list(await conn.execute(select(installation_tokens))) == []
        assert list(await conn.execute(select(audit_events))) == events_before


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"project_ids":["\\ud83d\\ude00"]}', id="paired-escape"),
        pytest.param(b'{"project_ids":["\\\\ud800"]}', id="escaped-backslash"),
        pytest.param('{"project_ids":["\U0001f600"]}'.encode(), id="utf-8-emoji"),
    ],
)
async def test_paired_surrogates_and_escaped_backslashes_are_text(
    world: World, taken: Taken, content: bytes
) -> None:
    """An escaped pair is one character (U+1F600), ``\\\\ud800`` six: the hot route answers
    both, naming the project that does not exist."""
    sent = {"content": content, "headers": {**JSON, **bearer(await world.access_token())}}
    hot = await _both(world, taken, MINT.format(world.grants["acme"]), sent, "answered")
    assert (hot.status_code, hot.json()["error"]) == (400, "invalid_request")
    assert "Unicode" not in hot.json()["error_description"]
