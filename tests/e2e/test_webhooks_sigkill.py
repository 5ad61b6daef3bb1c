"""Webhook delivery across two ``serve`` processes on one PostgreSQL database, one of them
killed with SIGKILL while attempts are in flight: every event is still delivered (after its
lease runs out, by the survivor or the restarted process), in order per grant, and no
``webhook-id`` is ever being sent twice at the same moment."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from multiprocess_support import SECRET, fresh_postgres, servers, sync_url

from i18n_connect import grants
from i18n_connect.clock import SystemClock
from i18n_connect.oauth.clients import create_client
from i18n_connect.platform.accounts import create_user
from i18n_connect.platform.organizations import create_organization
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.webhooks import endpoints
from i18n_connect.webhooks.worker import BATCH
from webhook_receiver import Receiver, free_port, receiving

pytestmark = pytest.mark.timeout(90)

GRANTS = 12
ENV = {
    "I18N_CONNECT_WEBHOOK_ALLOW_LOOPBACK": "true",
    "I18N_CONNECT_WEBHOOK_POLL_SECONDS": "0.1",
    "I18N_CONNECT_WEBHOOK_TIMEOUT_SECONDS": "1",  # a lease of 4 s
    "I18N_CONNECT_WEBHOOK_RETRY_BASE_SECONDS": "0.2",
}


async def _seed(database_url: str, receiver_url: str) -> str:
    """An app with one endpoint, and ``GRANTS`` grants made and revoked: two events each."""
    settings = Settings(database_url=database_url, secret_key=SECRET, webhook_allow_loopback=True)
    services = Services.build(settings, clock=SystemClock())
    now = services.clock.now()
    async with services.db.transaction() as conn:
        client, _ = await create_client(
            conn,
            name="Hooked",
            redirect_uris=["http://127.0.0.1:9/cb"],
            confidential=True,
            now=now,
            hasher=services.hasher,
        )
        created = await endpoints.create_endpoint(
            conn,
            services,
            client_id=client.id,
            url=receiver_url,
            event_types=["grant.created", "grant.revoked"],
            now=now,
        )
        user = await create_user(
            conn, email="owner@example.com", password="correct horse battery", name=None, now=now
        )
        for index in range(GRANTS):
            org = await create_organization(
                conn, slug=f"org-{index}", name=f"Org {index}", owner_user_id=user.id, now=now
            )
            (grant,) = await grants.consent(
                conn,
                user_id=user.id,
                client_id=client.id,
                organization_ids=[org.id],
                scope=("org:read",),
                now=now,
            )
            await grants.revoke_grant(
                conn, grant.id, actor=user.id, now=now, reason="connected_apps"
            )
    await services.db.dispose()
    return created.secret


def _statuses(database_url: str) -> dict[str, int]:
    engine = sa.create_engine(sync_url(database_url))
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                sa.text("SELECT status, count(*) FROM webhook_deliveries GROUP BY status")
            )
            return {status: count for status, count in rows}
    finally:
        engine.dispose()


def test_killed_process_loses_nothing_and_nothing_is_sent_twice_at_once(tmp_path: Path) -> None:
    with (
        fresh_postgres() as database_url,
        receiving(Receiver(free_port(), hang_seconds=0.3)) as receiver,
    ):
        secret = asyncio.run(_seed(database_url, receiver.url))
        with servers(database_url, tmp_path, 2, **ENV) as (first, second):
            deadline = time.monotonic() + 20
            while not receiver._in_flight and time.monotonic() < deadline:
                time.sleep(0.01)
            first.kill()  # attempts of its own are in flight or leased
            first.start()  # the restarted process takes over once the leases run out
            deadline = time.monotonic() + 40
            while _statuses(database_url) != {"delivered": 2 * GRANTS}:
                assert time.monotonic() < deadline, (_statuses(database_url), second.log())
                time.sleep(0.2)
        events = receiver.verified(secret)
    assert receiver.overlapping == []
    by_grant: dict[str, list[str]] = {}
    for event in events:
        types = by_grant.setdefault(event["data"]["grant_id"], [])
        if event["type"] not in types:  # a resend after the kill repeats one, never reorders
            types.append(event["type"])
    assert len(by_grant) == GRANTS
    assert set(map(tuple, by_grant.values())) == {("grant.created", "grant.revoked")}
    assert len(events) - 2 * GRANTS <= BATCH  # at most the killed process's batch is sent again
