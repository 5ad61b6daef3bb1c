"""The example partner app's webhook receiver: a verified ``grant.revoked`` marks that
connection "needs reconnect" before anyone meets a 410; a forged one changes nothing."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
from examples.partner_app import Config, create_app
from examples.partner_app.store import Store
from fake_issuer import PUBLIC_URL

from i18n_connect.webhooks.secrets import new_signing_secret, signature_header

SECRET = new_signing_secret()


@pytest.fixture
async def hooked(partner_config: Config) -> AsyncIterator[tuple[httpx.AsyncClient, Store]]:
    config = dataclasses.replace(partner_config, webhook_secret=SECRET)
    app = create_app(config)
    store = Store(config.database)
    user = store.sign_in("dev@acme.test", "correct horse")
    assert user is not None
    store.upsert_connection(user, "org_acme", "grt_1", "rt_1", "org:read")
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url=PUBLIC_URL) as client:
        yield client, store


def _signed(event: dict[str, object], secret: str = SECRET) -> tuple[bytes, dict[str, str]]:
    body = json.dumps(event)
    at = datetime.now(UTC)
    headers = {
        "webhook-id": "msg_1",
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature_header([secret], msg_id="msg_1", at=at, body=body),
    }
    return body.encode(), headers


REVOKED = {"type": "grant.revoked", "data": {"grant_id": "grt_1", "reason": "user"}}


async def test_a_revoked_grant_marks_the_connection_for_reconnect(
    hooked: tuple[httpx.AsyncClient, Store],
) -> None:
    client, store = hooked
    body, headers = _signed(REVOKED)
    response = await client.post("/webhooks", content=body, headers=headers)
    assert response.status_code == 204
    (connection,) = store.connections(1)
    assert connection.needs_reconnect
    assert connection.problem == "Disconnected on i18n-connect (user). Reconnect."


async def test_a_forged_webhook_changes_nothing(hooked: tuple[httpx.AsyncClient, Store]) -> None:
    client, store = hooked
    body, headers = _signed(REVOKED, secret=new_signing_secret())
    response = await client.post("/webhooks", content=body, headers=headers)
    assert response.status_code == 400
    assert not store.connections(1)[0].needs_reconnect
