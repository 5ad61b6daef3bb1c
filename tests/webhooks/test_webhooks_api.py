"""The publisher's webhook API (``/api/oauth-client/webhooks``): client credentials only,
another app's endpoints invisible, every bad field its exact error, the secret shown once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import text
from webhook_world import World

from i18n_connect.addresses import address_allowed
from i18n_connect.errors import InvalidRequest
from i18n_connect.webhooks.endpoints import check_url

ENDPOINTS = "/api/oauth-client/webhooks/endpoints"


async def _create(world: World, **body: Any) -> httpx.Response:
    payload = {"url": "https://hooks.example.com/i18n", "event_types": ["grant.revoked"], **body}
    return await world.http.post(ENDPOINTS, json=payload, auth=world.auth)


async def test_an_endpoint_is_created_with_its_secret_shown_once(world: World) -> None:
    response = await _create(world)
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"
    created = response.json()
    assert created["secret"].startswith("whsec_")
    assert (created["status"], created["event_types"]) == ("active", ["grant.revoked"])
    listed = (await world.http.get(ENDPOINTS, auth=world.auth)).json()["endpoints"]
    assert [item["id"] for item in listed] == [created["id"]]
    assert listed[0]["secret"] is None
    assert created["secret"] not in (await world.http.get(ENDPOINTS, auth=world.auth)).text


async def test_the_secret_is_stored_encrypted_not_in_clear(world: World) -> None:
    secret = (await _create(world)).json()["secret"]
    async with world.services.db.transaction(readonly=True) as conn:
        (stored,) = (
            await conn.execute(text("SELECT secret_ciphertext FROM webhook_endpoints"))
        ).one()
    assert secret.encode() not in bytes(stored)
    assert secret.removeprefix("whsec_").encode() not in bytes(stored)


@pytest.mark.parametrize(
    ("body", "description"),
    [
        ({"url": "http://hooks.example.com/x"}, "url must be an https URL."),
        (
            {"url": "https://10.0.0.8/x"},
            "url must not point to a private or otherwise non-public address.",
        ),
        (
            {"url": "https://[::ffff:192.168.1.1]/x"},
            "url must not point to a private or otherwise non-public address.",
        ),
        (
            {"url": "https://169.254.169.254/latest"},
            "url must not point to a private or otherwise non-public address.",
        ),
        (
            {"url": "https://user@hooks.example.com/x"},
            "url must have a host and no user information or fragment.",
        ),
        (
            {"url": "https://hooks.example.com/x#frag"},
            "url must have a host and no user information or fragment.",
        ),
        ({"url": "https://hooks.example.com:99999/x"}, "url has an invalid host or port."),
        (
            {"url": "https://hooks.example.com/\u00e9"},
            "url must be at most 2048 printable ASCII characters.",
        ),
        ({"url": ""}, "url must be at most 2048 printable ASCII characters."),
        ({"event_types": []}, "event_types must list at least one event type."),
        (
            {"event_types": ["grant.deleted"]},
            "Unknown event type: grant.deleted. Known: grant.created, grant.updated, "
            "grant.revoked, installation_token.revoked, translations.published, "
            "keys.changed, content.published.",
        ),
        ({"event_types": "grant.revoked"}, "event_types: Input should be a valid list"),
        ({"secret": "whsec_mine"}, "secret: Extra inputs are not permitted"),
    ],
    ids=[
        "http",
        "private",
        "mapped-private",
        "metadata-address",
        "userinfo",
        "fragment",
        "port",
        "non-ascii",
        "empty",
        "no-events",
        "unknown-event",
        "events-not-a-list",
        "own-secret",
    ],
)
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)  # validation only
async def test_bad_endpoint_fields_are_refused_exactly(
    world: World, body: dict[str, Any], description: str
) -> None:
    response = await _create(world, **body)
    assert (response.status_code, response.json()) == (
        400,
        {"error": "invalid_request", "error_description": description},
    )
    assert (await world.http.get(ENDPOINTS, auth=world.auth)).json()["endpoints"] == []


def test_loopback_is_refused_without_the_development_setting() -> None:
    for url in ("https://127.0.0.1/hooks", "http://localhost:8080/hooks", "https://[::1]/x"):
        with pytest.raises(InvalidRequest) as refused:
            check_url(url, allow_loopback=False)
        assert refused.value.description == "url must not point to a loopback address."
    assert check_url("http://127.0.0.1:8080/hooks", allow_loopback=True)


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("93.184.216.34", True),
        ("10.1.2.3", False),
        ("127.0.0.1", False),
        ("169.254.169.254", False),
        ("::ffff:10.0.0.1", False),
        ("64:ff9b::a00:1", False),
        ("2002:a00:1::", False),
        ("fc00::1", False),
        ("2606:4700::1111", True),
    ],
)
def test_deliveries_use_the_metadata_documents_address_filter(address: str, allowed: bool) -> None:
    assert address_allowed(address, allow_loopback=False) is allowed


@pytest.mark.parametrize(
    ("auth", "description"),
    [
        (None, "The request names no client: send client_id."),
        (("cli_unknown", "cs_wrong"), "Unknown client; register again."),
        ("wrong-secret", "Client authentication failed."),
        ("no-secret", "Authenticate with the app's client_id and client_secret (HTTP Basic)."),
    ],
    ids=["none", "unknown", "wrong-secret", "public-style"],
)
async def test_the_api_needs_the_apps_client_credentials(
    world: World, auth: Any, description: str
) -> None:
    if auth == "wrong-secret":
        auth = (world.client_id, "cs_wrong")
    elif auth == "no-secret":
        auth = (world.client_id, "")
    response = await world.http.get(ENDPOINTS, auth=auth)
    assert (response.status_code, response.json()["error"]) == (401, "invalid_client")
    assert response.json()["error_description"] == description


async def test_another_apps_endpoint_and_delivery_are_not_found(world: World) -> None:
    endpoint_id = (await _create(world)).json()["id"]
    other = httpx.BasicAuth(world.other_client_id, world.other_client_secret)
    for method, path, body in [
        ("PATCH", f"{ENDPOINTS}/{endpoint_id}", {"enabled": False}),
        ("DELETE", f"{ENDPOINTS}/{endpoint_id}", None),
        ("POST", f"{ENDPOINTS}/{endpoint_id}/rotate-secret", {}),
        ("POST", "/api/oauth-client/webhooks/deliveries/whd_nope/redeliver", None),
    ]:
        response = await world.http.request(method, path, json=body, auth=other)
        assert (response.status_code, response.json()["error"]) == (404, "not_found"), path
    listed = (await world.http.get(ENDPOINTS, auth=world.auth)).json()["endpoints"]
    assert listed[0]["status"] == "active"


@pytest.mark.parametrize(
    ("hours", "status"), [(168, 200), (168.5, 400), (-1, 400)], ids=["7-days", "over", "negative"]
)
async def test_the_rotation_overlap_is_at_most_seven_days(
    world: World, hours: float, status: int
) -> None:
    endpoint_id = (await _create(world)).json()["id"]
    response = await world.http.post(
        f"{ENDPOINTS}/{endpoint_id}/rotate-secret", json={"overlap_hours": hours}, auth=world.auth
    )
    assert response.status_code == status
    if status == 400:
        assert response.json()["error"] == "invalid_request"


async def test_change_disable_and_delete_an_endpoint(world: World) -> None:
    endpoint_id = (await _create(world)).json()["id"]
    response = await world.http.patch(
        f"{ENDPOINTS}/{endpoint_id}",
        json={"event_types": ["grant.created", "grant.revoked"], "enabled": False},
        auth=world.auth,
    )
    assert response.status_code == 200
    assert (response.json()["event_types"], response.json()["status"]) == (
        ["grant.created", "grant.revoked"],
        "disabled",
    )
    assert (
        await world.http.delete(f"{ENDPOINTS}/{endpoint_id}", auth=world.auth)
    ).status_code == 204
    assert (await world.http.get(ENDPOINTS, auth=world.auth)).json()["endpoints"] == []
