"""Webhook deliveries to a real receiver on 127.0.0.1 (Standard Webhooks): events of a grant's
life arrive in order and verify with the standardwebhooks library; a receiver that is down,
redirects, hangs or answers a huge body is retried or bounded; a rolled-back change sends
nothing; a failing endpoint stops until re-enabled."""

from __future__ import annotations

import random
import time
from datetime import timedelta

import anyio
import pytest
from webhook_world import World

from i18n_connect import grants
from i18n_connect.webhooks.secrets import SecretBox
from i18n_connect.webhooks.sending import EXCERPT_BYTES
from i18n_connect.webhooks.worker import deliver_due, next_delay
from webhook_receiver import Receiver, free_port, receiving

pytestmark = pytest.mark.timeout(60)


async def _connect(world: World, scope: tuple[str, ...] = ("org:read",)) -> str:
    async with world.services.db.transaction() as conn:
        (grant,) = await grants.consent(
            conn,
            user_id=world.ada,
            client_id=world.client_id,
            organization_ids=[world.acme],
            scope=scope,
            now=world.services.clock.now(),
        )
    return grant.id


async def _revoke(world: World, grant_id: str, reason: str = "connected_apps") -> None:
    async with world.services.db.transaction() as conn:
        assert await grants.revoke_grant(
            conn, grant_id, actor=world.ada, now=world.services.clock.now(), reason=reason
        )


async def _drain(world: World, rounds: int = 200) -> None:
    """Run the worker until nothing is pending (retries included), at most ``rounds`` times."""
    for _ in range(rounds):
        await deliver_due(world.services)
        if all(d.status != "pending" for d in await world.deliveries()):
            return
        await anyio.sleep(0.02)


async def test_connect_then_revoke_delivers_created_then_revoked_signed(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    with receiving(Receiver(free_port())) as receiver:
        _, secret = await world.endpoint(receiver.url)
        grant_id = await _connect(world)
        await _revoke(world, grant_id)
        await _drain(world)
        events = receiver.verified(secret)
    assert [event["type"] for event in events] == ["grant.created", "grant.revoked"]
    assert events[0]["data"] == {
        "grant_id": grant_id,
        "organization_id": world.acme,
        "user_id": world.ada,
        "scope": ["org:read"],
        "projects": "all",
    }
    assert events[1]["data"]["reason"] == "user"
    assert "ada@example.com" not in str(events)
    assert len({item.headers["webhook-id"] for item in receiver.received}) == 2
    delivered = await world.deliveries()
    assert {(d.status, d.attempts, d.last_status_code) for d in delivered} == {
        ("delivered", 1, 204)
    }
    logged = capsys.readouterr()
    # whichever stream logging reaches in this process (it depends on the tests before), the
    # signing secret never appears in it
    assert secret not in logged.out + logged.err
    assert secret.removeprefix("whsec_") not in logged.out + logged.err


async def test_a_rolled_back_change_sends_nothing(world: World) -> None:
    await world.endpoint("http://127.0.0.1:9/hooks")
    with pytest.raises(RuntimeError):
        async with world.services.db.transaction() as conn:
            await grants.consent(
                conn,
                user_id=world.ada,
                client_id=world.client_id,
                organization_ids=[world.acme],
                scope=("org:read",),
                now=world.services.clock.now(),
            )
            raise RuntimeError("the change fails after the event was written")
    assert await world.deliveries() == []


async def test_an_endpoint_gets_only_the_event_types_it_asked_for(world: World) -> None:
    with receiving(Receiver(free_port())) as receiver:
        _, secret = await world.endpoint(receiver.url, ["grant.revoked"])
        await _revoke(world, await _connect(world), reason="membership.removed")
        await _drain(world)
        events = receiver.verified(secret)
    assert [(e["type"], e["data"]["reason"]) for e in events] == [
        ("grant.revoked", "membership_removed")
    ]


async def test_a_receiver_down_for_a_while_gets_every_event_in_order(world: World) -> None:
    port = free_port()
    _, secret = await world.endpoint(f"http://127.0.0.1:{port}/hooks")
    grant_id = await _connect(world)
    await _revoke(world, grant_id)
    for _ in range(3):  # nobody listens: connection refused, retried later
        await deliver_due(world.services)
        await anyio.sleep(0.1)
    waiting = await world.deliveries()
    assert {d.status for d in waiting} == {"pending"}
    first = next(d for d in waiting if d.event_type == "grant.created")
    assert first.attempts >= 2 and first.last_status_code is None
    assert first.last_response == "connection failed: ConnectError"
    # the second event waits behind the first: never attempted while the first is pending
    assert next(d for d in waiting if d.event_type == "grant.revoked").attempts == 0
    with receiving(Receiver(port)) as receiver:
        await _drain(world)
        events = receiver.verified(secret)
    assert [event["type"] for event in events] == ["grant.created", "grant.revoked"]
    assert {d.status for d in await world.deliveries()} == {"delivered"}


@pytest.mark.parametrize(
    ("mode", "status_code", "excerpt_start"),
    [
        ("redirect", 307, "redirect not followed (307)"),
        ("hang", None, "no answer within 1 seconds"),
        ("huge", 200, "x" * 64),
    ],
    ids=["redirect", "hang", "huge-body"],
)
async def test_a_hostile_receiver_is_bounded(
    world: World, mode: str, status_code: int | None, excerpt_start: str
) -> None:
    with receiving(Receiver(free_port(), mode=mode)) as receiver:
        await world.endpoint(receiver.url)
        await _connect(world)
        started = time.monotonic()
        await deliver_due(world.services)
        elapsed = time.monotonic() - started
    (delivery,) = await world.deliveries()
    assert elapsed < 2.5  # the 1 s attempt timeout, not the receiver, decides
    assert delivery.last_status_code == status_code
    assert delivery.last_response is not None
    assert delivery.last_response.startswith(excerpt_start)
    assert len(delivery.last_response.encode()) <= EXCERPT_BYTES + 40
    assert delivery.status == ("delivered" if mode == "huge" else "pending")


async def test_giving_up_marks_the_endpoint_failing_until_enabled(world: World) -> None:
    world.services.settings.webhook_retry_hours = 0.5 / 3600  # give up after half a second
    endpoint_id, _ = await world.endpoint(f"http://127.0.0.1:{free_port()}/hooks")
    await _connect(world)
    await _drain(world)
    (delivery,) = await world.deliveries()
    assert delivery.status == "failed"
    response = await world.http.get("/api/oauth-client/webhooks/endpoints", auth=world.auth)
    (endpoint,) = response.json()["endpoints"]
    assert (endpoint["status"], endpoint["failing_since"] is not None) == ("failing", True)
    # a new event waits while the endpoint is failing
    await _connect_other(world)
    await deliver_due(world.services)
    assert [d.attempts for d in await world.deliveries() if d.status == "pending"] == [0]
    response = await world.http.patch(
        f"/api/oauth-client/webhooks/endpoints/{endpoint_id}",
        json={"enabled": True},
        auth=world.auth,
    )
    assert (response.status_code, response.json()["status"]) == (200, "active")


async def _connect_other(world: World) -> str:
    async with world.services.db.transaction() as conn:
        (grant,) = await grants.consent(
            conn,
            user_id=world.ada,
            client_id=world.client_id,
            organization_ids=[world.globex],
            scope=("org:read",),
            now=world.services.clock.now(),
        )
    return grant.id


async def test_redelivery_sends_the_same_event_again(world: World) -> None:
    with receiving(Receiver(free_port())) as receiver:
        _, secret = await world.endpoint(receiver.url)
        await _connect(world)
        await _drain(world)
        (first,) = await world.deliveries()
        response = await world.http.post(
            f"/api/oauth-client/webhooks/deliveries/{first.id}/redeliver", auth=world.auth
        )
        assert response.status_code == 201
        assert (response.json()["event_id"], response.json()["status"]) == (
            first.event_id,
            "pending",
        )
        await _drain(world)
        events = receiver.verified(secret)
    assert [e["type"] for e in events] == ["grant.created", "grant.created"]
    assert receiver.received[0].headers["webhook-id"] == receiver.received[1].headers["webhook-id"]


async def test_after_a_rotation_both_secrets_verify_during_the_overlap(world: World) -> None:
    with receiving(Receiver(free_port())) as receiver:
        endpoint_id, old = await world.endpoint(receiver.url)
        response = await world.http.post(
            f"/api/oauth-client/webhooks/endpoints/{endpoint_id}/rotate-secret",
            json={"overlap_hours": 1},
            auth=world.auth,
        )
        assert response.status_code == 200
        new = response.json()["secret"]
        assert new.startswith("whsec_") and new != old
        await _connect(world)
        await _drain(world)
        assert receiver.verified(old) == receiver.verified(new)
        assert receiver.received[0].headers["webhook-signature"].count("v1,") == 2


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    rng = random.Random(7)
    delays = [next_delay(n, base_seconds=10, rng=rng) for n in range(1, 16)]
    for attempt, delay in enumerate(delays, start=1):
        ceiling = min(10 * 2 ** (attempt - 1), 4 * 3600)
        assert timedelta(seconds=ceiling / 2) <= delay <= timedelta(seconds=ceiling)
    assert sum(delays, timedelta()) > timedelta(hours=12)  # about a day of retries


async def test_a_secret_sealed_under_another_server_secret_fails_the_attempt_only(
    world: World,
) -> None:
    await world.endpoint("http://127.0.0.1:9/hooks")
    await _connect(world)
    world.services.webhook_secrets = SecretBox(bytes(32))  # as after a server-secret change
    assert await deliver_due(world.services) == 1
    (delivery,) = await world.deliveries()
    assert (delivery.status, delivery.attempts, delivery.last_response) == (
        "pending",
        1,
        "the signing secret cannot be read: rotate it",
    )
