"""The device authorization endpoint and the token endpoint's device code grant (RFC 8628
§3.1-§3.5): the response, who may use it, every polling answer with its exact error, and
hostile use of a device_code (replay, another client's, guessed, expired)."""

from __future__ import annotations

import asyncio
import base64
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from device_flow import (
    DEVICE_AUTHORIZATION,
    SCOPE,
    TOKEN,
    USER_CODE,
    DeviceWorld,
    make_device_world,
)

from i18n_connect.clock import FrozenClock
from i18n_connect.gc import collect_once
from i18n_connect.oauth.device import DEVICE_CODE_GRANT
from i18n_connect.storage.oauth_tables import device_authorizations, refresh_tokens

ISSUER = "http://testserver"


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> DeviceWorld:
    return await make_device_world(app_client)


async def stored(world: DeviceWorld) -> list[Any]:
    services = world.http.app.state.services  # type: ignore[attr-defined]
    async with services.db.transaction(readonly=True) as conn:
        return list(await conn.execute(sa.select(device_authorizations)))


def error_of(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body["error"], body["error_description"]


async def test_device_authorization_answers_rfc_8628_section_3_2(world: DeviceWorld) -> None:
    response = await world.http.post(
        DEVICE_AUTHORIZATION, data={"client_id": world.public_id, "scope": SCOPE}
    )

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert set(body) == {
        "device_code",
        "user_code",
        "verification_uri",
        "verification_uri_complete",
        "expires_in",
        "interval",
    }
    assert USER_CODE.fullmatch(body["user_code"])
    assert body["verification_uri"] == f"{ISSUER}/device"
    assert body["verification_uri_complete"] == f"{ISSUER}/device?user_code={body['user_code']}"
    assert (body["expires_in"], body["interval"]) == (600, 5)
    (row,) = await stored(world)
    services = world.http.app.state.services  # type: ignore[attr-defined]
    assert row.device_code_hash == services.hasher.hash(body["device_code"])
    normalized = body["user_code"].replace("-", "")
    assert row.user_code_hash == services.hasher.hash(f"user-code:{normalized}")
    assert body["device_code"] not in str(tuple(row))
    assert (row.status, row.scope, row.interval) == ("pending", SCOPE, 5)


async def test_a_confidential_client_authenticates_as_at_the_token_endpoint(
    world: DeviceWorld,
) -> None:
    ok = await world.http.post(DEVICE_AUTHORIZATION, data={"scope": SCOPE}, headers=world.basic())
    no_secret = await world.http.post(
        DEVICE_AUTHORIZATION, data={"client_id": world.confidential_id}
    )

    assert ok.status_code == 200, ok.text
    assert error_of(no_secret) == (
        401,
        "invalid_client",
        "This client must authenticate with its client secret.",
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"client_id": "cli_unknown"},
            (401, "invalid_client", "Unknown client; register again."),
        ),
        (
            {"client_id": None},
            (401, "invalid_client", "The request names no client: send client_id."),
        ),
        (
            {"scope": "org:read nonsense"},
            (400, "invalid_scope", "Unknown scope: nonsense."),
        ),
        (
            {"resource": "https://evil.example/api"},
            (400, "invalid_target", "The resource is not served by this authorization server."),
        ),
    ],
)
async def test_a_bad_device_authorization_request_stores_nothing(
    world: DeviceWorld, data: dict[str, str | None], expected: tuple[int, str, str]
) -> None:
    form = {"client_id": world.public_id, "scope": SCOPE, **data}
    response = await world.http.post(
        DEVICE_AUTHORIZATION, data={k: v for k, v in form.items() if v is not None}
    )

    assert error_of(response) == expected
    assert await stored(world) == []


async def test_only_a_client_that_registered_the_grant_type_may_use_it(world: DeviceWorld) -> None:
    started = await world.http.post(
        DEVICE_AUTHORIZATION, data={"client_id": world.people.client_id}
    )
    polled = await world.poll("dc_anything", client_id=world.people.client_id)

    expected = (
        400,
        "unauthorized_client",
        f"This client did not register the grant type {DEVICE_CODE_GRANT}; "
        "update its registration to use the device flow.",
    )
    assert error_of(started) == expected
    assert error_of(polled) == expected
    assert await stored(world) == []


async def test_polling_is_pending_then_slowed_down_by_five_seconds_each_time(
    world: DeviceWorld, clock: FrozenClock
) -> None:
    started = await world.start()
    code = started["device_code"]

    first = await world.poll(code)
    too_soon = await world.poll(code)
    clock.advance(seconds=9)  # the interval is now 10 s, less one of slack: on time
    on_time = await world.poll(code)
    clock.advance(seconds=5)
    early_again = await world.poll(code)

    assert error_of(first) == (
        400,
        "authorization_pending",
        "The user has not answered yet; poll again after the interval.",
    )
    assert error_of(too_soon) == (
        400,
        "slow_down",
        "Polling too often: wait 10 seconds between requests from now on.",
    )
    assert error_of(on_time)[1] == "authorization_pending"
    assert error_of(early_again) == (
        400,
        "slow_down",
        "Polling too often: wait 15 seconds between requests from now on.",
    )
    assert first.headers["cache-control"] == "no-store"
    (row,) = await stored(world)
    assert row.interval == 15


async def test_an_approved_device_code_answers_as_a_code_exchange_once(
    world: DeviceWorld, clock: FrozenClock
) -> None:
    started = await world.start()
    assert (await world.answer(started["user_code"])).status_code == 200
    clock.advance(seconds=5)

    tokens = await world.poll(started["device_code"])
    replay = await world.poll(started["device_code"])

    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert set(body) == {
        "access_token",
        "token_type",
        "expires_in",
        "refresh_token",
        "grant_id",
        "organization_id",
        "scope",
        "grants",
    }
    assert body["organization_id"] == world.people.acme
    assert body["scope"] == SCOPE
    assert [grant["scope"] for grant in body["grants"]] == [SCOPE]
    assert error_of(replay) == (400, "invalid_grant", "The device_code was already used.")
    refreshed = await world.http.post(
        TOKEN,
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": world.public_id,
        },
    )
    assert refreshed.status_code == 200, refreshed.text
    assert refreshed.json()["grant_id"] == body["grant_id"]
    (row,) = await stored(world)
    assert row.consumed_at is not None
    services = world.http.app.state.services  # type: ignore[attr-defined]
    async with services.db.transaction(readonly=True) as conn:
        chain_codes = (await conn.execute(sa.select(refresh_tokens.c.code_id))).scalars().all()
    assert set(chain_codes) == {row.id}  # the chain names the device authorization it began at


async def test_another_clients_device_code_is_unknown_to_it_and_stays_usable(
    world: DeviceWorld, clock: FrozenClock
) -> None:
    started = await world.start()
    await world.answer(started["user_code"])

    stolen = await world.poll(started["device_code"], client_id=world.other_id)
    guessed = await world.poll("dc_" + "A" * 43)
    owner = await world.poll(started["device_code"])

    unknown = (400, "invalid_grant", "The device_code is unknown or was issued to another client.")
    assert error_of(stolen) == unknown
    assert error_of(guessed) == unknown
    assert owner.status_code == 200, owner.text


async def test_a_denied_request_answers_access_denied(world: DeviceWorld) -> None:
    started = await world.start()
    denied = await world.answer(started["user_code"], "deny")

    polled = await world.poll(started["device_code"])

    assert denied.status_code == 200
    assert "Connection denied" in denied.text
    assert error_of(polled) == (400, "access_denied", "The user denied the request.")


async def test_an_expired_device_code_answers_expired_token_even_when_approved(
    world: DeviceWorld, clock: FrozenClock
) -> None:
    pending = await world.start()
    approved = await world.start()
    await world.answer(approved["user_code"])
    clock.advance(seconds=601)

    assert error_of(await world.poll(pending["device_code"])) == (
        400,
        "expired_token",
        "The device_code has expired; start a new device authorization.",
    )
    assert error_of(await world.poll(approved["device_code"]))[1] == "expired_token"
    services = world.http.app.state.services  # type: ignore[attr-defined]
    removed = await collect_once(services.db, clock)
    assert removed["device_authorizations"] == 2
    assert await stored(world) == []


async def test_concurrent_redemptions_yield_tokens_once(world: DeviceWorld) -> None:
    started = await world.start()
    await world.answer(started["user_code"])

    answers = await asyncio.gather(*(world.poll(started["device_code"]) for _ in range(4)))

    assert sorted(r.status_code for r in answers) == [200, 400, 400, 400]
    assert {error_of(r)[1] for r in answers if r.status_code == 400} == {"invalid_grant"}


async def test_a_device_code_needs_its_parameter(world: DeviceWorld) -> None:
    response = await world.http.post(
        TOKEN, data={"grant_type": DEVICE_CODE_GRANT, "client_id": world.public_id}
    )

    assert error_of(response) == (400, "invalid_request", "The device_code parameter is required.")


async def test_registration_accepts_the_device_code_grant_type(world: DeviceWorld) -> None:
    metadata = {"client_name": "CLI", "redirect_uris": ["http://127.0.0.1/cb"]}

    with_device = await world.http.post(
        "/api/auth/mcp/register",
        json={**metadata, "grant_types": ["authorization_code", DEVICE_CODE_GRANT]},
    )
    device_only = await world.http.post(
        "/api/auth/mcp/register", json={**metadata, "grant_types": [DEVICE_CODE_GRANT]}
    )
    plain = await world.http.post("/api/auth/mcp/register", json=metadata)

    assert with_device.status_code == 201, with_device.text
    assert with_device.json()["grant_types"] == [
        "authorization_code",
        "refresh_token",
        DEVICE_CODE_GRANT,
    ]
    assert error_of(device_only) == (
        400,
        "invalid_client_metadata",
        "grant_types must include authorization_code.",
    )
    assert plain.json()["grant_types"] == ["authorization_code", "refresh_token"]
    started = await world.http.post(
        DEVICE_AUTHORIZATION,
        data={"client_id": with_device.json()["client_id"]},
        headers={"Authorization": "Basic " + _basic(with_device.json())},
    )
    assert started.status_code == 200, started.text


def _basic(registered: dict[str, Any]) -> str:
    raw = f"{registered['client_id']}:{registered['client_secret']}".encode()
    return base64.b64encode(raw).decode()


async def test_parameters_go_in_the_body_as_at_the_token_endpoint(world: DeviceWorld) -> None:
    in_url = await world.http.post(
        DEVICE_AUTHORIZATION, params={"client_id": world.public_id}, data={"scope": SCOPE}
    )
    as_json = await world.http.post(
        DEVICE_AUTHORIZATION, json={"client_id": world.public_id, "scope": SCOPE}
    )

    assert error_of(in_url) == (
        400,
        "invalid_request",
        "Parameters go in the request body, not the URL.",
    )
    assert as_json.status_code == 200, as_json.text
    assert len(await stored(world)) == 1
