"""``Idempotency-Key`` on the client-credential webhook routes: keyed by the app; a retried
create answers the same endpoint and secret and makes no second endpoint; the kept answer
holds the secret only encrypted; another app's same key is its own."""

from __future__ import annotations

import httpx
from sqlalchemy import text
from webhook_world import World

ENDPOINTS = "/api/oauth-client/webhooks/endpoints"
BODY = {"url": "https://hooks.example.com/i18n", "event_types": ["grant.revoked"]}


async def test_a_retried_create_answers_the_same_endpoint_and_makes_one(world: World) -> None:
    headers = {"Idempotency-Key": "create-1"}
    first = await world.http.post(ENDPOINTS, json=BODY, auth=world.auth, headers=headers)
    assert first.status_code == 201
    second = await world.http.post(ENDPOINTS, json=BODY, auth=world.auth, headers=headers)
    assert (second.status_code, second.content) == (201, first.content)
    assert second.headers["idempotent-replayed"] == "true"
    assert second.headers["cache-control"] == "no-store"
    listed = (await world.http.get(ENDPOINTS, auth=world.auth)).json()["endpoints"]
    assert [item["id"] for item in listed] == [first.json()["id"]]
    secret = first.json()["secret"]
    async with world.services.db.transaction(readonly=True) as conn:
        rows = (await conn.execute(text("SELECT caller, body FROM idempotency_keys"))).all()
    assert [row.caller for row in rows] == [f"client:{world.client_id}"]
    assert secret.encode() not in bytes(rows[0].body)
    assert secret.removeprefix("whsec_").encode() not in bytes(rows[0].body)


async def test_another_app_with_the_same_key_is_its_own(world: World) -> None:
    headers = {"Idempotency-Key": "create-1"}
    mine = await world.http.post(ENDPOINTS, json=BODY, auth=world.auth, headers=headers)
    other_auth = httpx.BasicAuth(world.other_client_id, world.other_client_secret)
    theirs = await world.http.post(ENDPOINTS, json=BODY, auth=other_auth, headers=headers)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert "idempotent-replayed" not in theirs.headers
    assert theirs.json()["id"] != mine.json()["id"]
    wrong_secret = httpx.BasicAuth(world.client_id, "not-the-secret")
    refused = await world.http.post(ENDPOINTS, json=BODY, auth=wrong_secret, headers=headers)
    assert (refused.status_code, refused.json()["error"]) == (401, "invalid_client")


async def test_a_delete_is_replayed_with_its_204(world: World) -> None:
    endpoint_id, _secret = await world.endpoint("https://hooks.example.com/x")
    headers = {"Idempotency-Key": "delete-1"}
    url = f"{ENDPOINTS}/{endpoint_id}"
    first = await world.http.delete(url, auth=world.auth, headers=headers)
    second = await world.http.delete(url, auth=world.auth, headers=headers)
    assert (first.status_code, second.status_code) == (204, 204)
    assert second.headers["idempotent-replayed"] == "true"
    again = await world.http.delete(url, auth=world.auth)
    assert (again.status_code, again.json()["error"]) == (404, "not_found")  # it did run once
