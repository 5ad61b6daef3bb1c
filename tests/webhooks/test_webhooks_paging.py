"""The webhook lists page by cursor: endpoints oldest first, deliveries newest first; an
endpoint or delivery added between pages never makes a page skip or repeat one, and another
app's cursor is refused."""

from __future__ import annotations

from typing import Any

import httpx
from webhook_world import World

from i18n_connect.storage import webhooks as webhook_store

ENDPOINTS = "/api/oauth-client/webhooks/endpoints"
DELIVERIES = "/api/oauth-client/webhooks/deliveries"
FOREIGN = (
    "cursor: changed, or the next_cursor of another list; pass the next_cursor of this "
    "list unchanged, or start again without cursor."
)


async def _all_pages(
    world: World, url: str, field: str, between: Any = None, **params: Any
) -> tuple[list[list[str]], list[str | None]]:
    """The ids of every page, ``limit=2``; ``between`` runs after the first page."""
    pages: list[list[str]] = []
    cursors: list[str | None] = []
    query = {"limit": 2, **params}
    while True:
        response = await world.http.get(url, params=query, auth=world.auth)
        assert response.status_code == 200, response.text
        body = response.json()
        pages.append([item["id"] for item in body[field]])
        cursors.append(body["next_cursor"])
        if len(pages) == 1 and between is not None:
            await between()
        if body["next_cursor"] is None:
            return pages, cursors
        query["cursor"] = body["next_cursor"]


async def _delivery(world: World, endpoint_id: str, number: int) -> str:
    now = world.services.clock.now()
    async with world.services.db.transaction() as conn:
        await webhook_store.insert_event(
            conn,
            event_id=f"evt_{number}",
            client_id=world.client_id,
            event_type="grant.revoked",
            payload="{}",
            now=now,
        )
        await webhook_store.insert_delivery(
            conn,
            delivery_id=f"whd_{number}",
            event_id=f"evt_{number}",
            endpoint_id=endpoint_id,
            ordering_key="k",
            now=now,
        )
    return f"whd_{number}"


async def test_endpoints_page_oldest_first_while_endpoints_are_added(world: World) -> None:
    made = [(await world.endpoint(f"https://hooks.example.com/{n}"))[0] for n in range(5)]
    added: list[str] = []

    async def add() -> None:
        added.append((await world.endpoint("https://hooks.example.com/late"))[0])

    pages, cursors = await _all_pages(world, ENDPOINTS, "endpoints", between=add)
    assert pages == [made[0:2], made[2:4], [made[4], added[0]]]
    assert cursors[-1] is None
    other = httpx.BasicAuth(world.other_client_id, world.other_client_secret)
    refused = await world.http.get(ENDPOINTS, params={"cursor": cursors[0]}, auth=other)
    assert (refused.status_code, refused.json()) == (
        400,
        {"error": "invalid_request", "error_description": FOREIGN},
    )


async def test_deliveries_page_newest_first_and_new_ones_stay_off_later_pages(
    world: World,
) -> None:
    endpoint, _secret = await world.endpoint("https://hooks.example.com/a")
    second, _secret = await world.endpoint("https://hooks.example.com/b")
    made = [await _delivery(world, endpoint, n) for n in range(5)]
    elsewhere = await _delivery(world, second, 5)

    async def add() -> None:
        await _delivery(world, endpoint, 6)

    pages, cursors = await _all_pages(
        world, DELIVERIES, "deliveries", between=add, endpoint_id=endpoint
    )
    assert pages == [[made[4], made[3]], [made[2], made[1]], [made[0]]]
    assert cursors[-1] is None
    everything = (await world.http.get(DELIVERIES, auth=world.auth)).json()
    assert [d["id"] for d in everything["deliveries"]] == ["whd_6", elsewhere, *reversed(made)]
    assert everything["next_cursor"] is None
    endpoints_cursor = (
        await world.http.get(ENDPOINTS, params={"limit": 1}, auth=world.auth)
    ).json()["next_cursor"]
    refused = await world.http.get(DELIVERIES, params={"cursor": endpoints_cursor}, auth=world.auth)
    assert (refused.status_code, refused.json()["error_description"]) == (400, FOREIGN)
