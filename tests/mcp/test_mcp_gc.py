"""``i18n-connect gc``: expired rows go, live ones stay, and only stale self-registered clients
without a live grant are deleted."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection
from typer.testing import CliRunner

import i18n_connect.gc
from i18n_connect.cli import app as cli_app
from i18n_connect.clock import FrozenClock, SystemClock
from i18n_connect.gc import collect_garbage, collect_once, periodic_collection
from i18n_connect.ids import new_id
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage.oauth_tables import (
    authorization_codes,
    authorization_requests,
    device_authorizations,
    grants,
    installation_tokens,
    oauth_clients,
    refresh_chains,
    refresh_tokens,
)
from i18n_connect.storage.tables import (
    browser_sessions,
    idempotency_keys,
    organizations,
    rate_counters,
    users,
)


async def seed(services: Services, now: datetime) -> dict[str, str]:
    """Two of everything that expires (one expired, one live) and six kinds of client."""
    hour, old = timedelta(hours=1), now - timedelta(days=40)
    ids: dict[str, str] = {}
    async with services.db.transaction() as conn:
        await conn.execute(
            insert(users).values(
                id="usr_1", email="a@example.com", name="A", password_hash="x", created_at=old
            )
        )
        await conn.execute(
            insert(organizations).values(id="org_1", slug="acme", name="Acme", created_at=old)
        )
        clients = {
            "stale_registered": ("registration", None),
            "stale_document": ("metadata_document", None),
            "stale_used_long_ago": ("registration", old),
            "recently_used": ("registration", now - timedelta(days=2)),
            "with_live_grant": ("registration", None),
            "with_revoked_grant": ("registration", None),
            "operator_created": ("cli", None),
        }
        for name, (origin, last_used) in clients.items():
            ids[name] = new_id("cli")
            await conn.execute(
                insert(oauth_clients).values(
                    id=ids[name],
                    name=name,
                    token_endpoint_auth_method="none",
                    redirect_uris=["http://127.0.0.1/cb"],
                    origin=origin,
                    verified=False,
                    created_at=old,
                    last_used_at=last_used,
                )
            )
        for name, revoked in (("with_live_grant", None), ("with_revoked_grant", old)):
            await conn.execute(
                insert(grants).values(
                    id=f"grt_{name}",
                    user_id="usr_1",
                    client_id=ids[name],
                    organization_id="org_1",
                    scope="keys:read",
                    created_at=old,
                    updated_at=old,
                    revoked_at=revoked,
                )
            )
        for tag, expires in (("expired", now - hour), ("live", now + hour)):
            common = {"created_at": now - 2 * hour, "expires_at": expires}
            await conn.execute(
                insert(authorization_codes).values(
                    id=f"code_{tag}",
                    code_hash=f"code-{tag}",
                    client_id=ids["with_live_grant"],
                    user_id="usr_1",
                    redirect_uri="http://127.0.0.1/cb",
                    code_challenge="c",
                    scope="keys:read",
                    grant_ids=[],
                    **common,
                )
            )
            await conn.execute(
                insert(authorization_requests).values(
                    id=f"req_{tag}",
                    session_hash=f"s-{tag}",
                    client_id=ids["with_live_grant"],
                    redirect_uri="http://127.0.0.1/cb",
                    scope="keys:read",
                    code_challenge="c",
                    **common,
                )
            )
            await conn.execute(
                insert(refresh_chains).values(
                    id=f"rch_{tag}", grant_id="grt_with_live_grant", created_at=now - 2 * hour
                )
            )
            await conn.execute(
                insert(refresh_tokens).values(
                    id=f"rt_{tag}",
                    token_hash=f"rt-{tag}",
                    grant_id="grt_with_live_grant",
                    chain_id=f"rch_{tag}",
                    scope="keys:read",
                    **common,
                )
            )
            await conn.execute(
                insert(installation_tokens).values(
                    id=f"it_{tag}",
                    token_hash=f"it-{tag}",
                    grant_id="grt_with_live_grant",
                    organization_id="org_1",
                    project_ids=[],
                    scope="keys:read",
                    **common,
                )
            )
            await conn.execute(
                insert(browser_sessions).values(id_hash=f"bs-{tag}", user_id="usr_1", **common)
            )
            await conn.execute(
                insert(idempotency_keys).values(
                    caller="grant:grt_with_live_grant",
                    key=f"key-{tag}",
                    request_hash="0" * 64,
                    status=201,
                    headers={},
                    body=b"",
                    **common,
                )
            )
            await conn.execute(
                insert(device_authorizations).values(
                    id=f"dva_{tag}",
                    device_code_hash=f"dc-{tag}",
                    user_code_hash=f"uc-{tag}",
                    client_id=ids["with_live_grant"],
                    scope="keys:read",
                    interval=5,
                    next_poll_at=now - 2 * hour,
                    status="pending",
                    **common,
                )
            )
        for key, started in (("old", now - timedelta(days=2)), ("current", now)):
            await conn.execute(
                insert(rate_counters).values(key=f"test:{key}", window_start=started, count=3)
            )
    return ids


async def remaining(services: Services) -> dict[str, Any]:
    async with services.db.transaction(readonly=True) as conn:
        counts = {
            table.name: await conn.scalar(select(func.count()).select_from(table))
            for table in (
                authorization_codes,
                authorization_requests,
                refresh_chains,
                refresh_tokens,
                installation_tokens,
                browser_sessions,
                device_authorizations,
                idempotency_keys,
            )
        }
        names = set(await conn.scalars(select(oauth_clients.c.name)))
        counters = set(await conn.scalars(select(rate_counters.c.key)))
        grant_ids = set(await conn.scalars(select(grants.c.id)))
    return {"counts": counts, "clients": names, "grants": grant_ids, "counters": counters}


async def test_gc_deletes_expired_rows_and_stale_dynamic_clients(
    services: Services, clock: FrozenClock
) -> None:
    await seed(services, clock.now())
    async with services.db.transaction() as conn:
        removed = await collect_garbage(conn, now=clock.now(), unused_days=30)
    assert removed == {
        "authorization_codes": 1,
        "authorization_requests": 1,
        "refresh_tokens": 1,
        "refresh_chains": 1,
        "installation_tokens": 1,
        "device_authorizations": 1,
        "browser_sessions": 1,
        "clients": 4,
        "rate_counters": 1,
        "idempotency_keys": 1,
    }
    left = await remaining(services)
    assert set(left["counts"].values()) == {1}
    assert left["clients"] == {"recently_used", "with_live_grant", "operator_created"}
    assert left["grants"] == {"grt_with_live_grant"}
    assert left["counters"] == {"test:current"}
    async with services.db.transaction() as conn:
        again = await collect_garbage(conn, now=clock.now(), unused_days=30)
    assert set(again.values()) == {0}


async def test_gc_keeps_clients_used_within_the_window(
    services: Services, clock: FrozenClock
) -> None:
    await seed(services, clock.now())
    async with services.db.transaction() as conn:
        removed = await collect_garbage(conn, now=clock.now(), unused_days=60)
    assert removed["clients"] == 0
    assert len((await remaining(services))["clients"]) == 7


async def test_gc_refuses_a_window_under_one_day(services: Services, clock: FrozenClock) -> None:
    async with services.db.transaction() as conn:
        with pytest.raises(ValueError, match="at least 1"):
            await collect_garbage(conn, now=clock.now(), unused_days=0)


def test_gc_command_prints_one_json_object(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert settings.secret_key is not None
    monkeypatch.setenv("I18N_CONNECT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("I18N_CONNECT_SECRET_KEY", settings.secret_key.get_secret_value())

    async def seed_real_time() -> None:
        services = Services.build(settings, clock=SystemClock())
        try:
            await seed(services, SystemClock().now())
        finally:
            await services.db.dispose()

    asyncio.run(seed_real_time())
    result = CliRunner().invoke(cli_app, ["gc", "--unused-days", "30", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {
        "deleted": {
            "authorization_codes": 1,
            "authorization_requests": 1,
            "refresh_tokens": 1,
            "refresh_chains": 1,
            "installation_tokens": 1,
            "device_authorizations": 1,
            "browser_sessions": 1,
            "clients": 4,
            "rate_counters": 1,
            "idempotency_keys": 1,
        }
    }
    bad = CliRunner().invoke(cli_app, ["gc", "--unused-days", "0"])
    assert bad.exit_code == 2


EXPECTED_FIRST_ROUND = {
    "authorization_codes": 1,
    "authorization_requests": 1,
    "refresh_tokens": 1,
    "installation_tokens": 1,
    "refresh_chains": 1,
    "device_authorizations": 1,
    "browser_sessions": 1,
    "clients": 4,
    "rate_counters": 1,
    "idempotency_keys": 1,
}


async def test_one_round_of_serve_collects_what_the_command_does(
    services: Services, clock: FrozenClock
) -> None:
    await seed(services, clock.now())
    assert await collect_once(services.db, clock) == EXPECTED_FIRST_ROUND
    assert set((await collect_once(services.db, clock)).values()) == {0}


async def test_concurrent_rounds_of_two_processes_delete_each_row_once(
    settings: Settings, services: Services, clock: FrozenClock
) -> None:
    await seed(services, clock.now())
    other = Services.build(settings, clock=clock)  # another process's own engine
    try:
        first, second = await asyncio.gather(
            collect_once(services.db, clock), collect_once(other.db, clock)
        )
    finally:
        await other.db.dispose()
    assert {name: first[name] + second[name] for name in first} == EXPECTED_FIRST_ROUND
    assert set((await remaining(services))["counts"].values()) == {1}


async def wait_for(condition: Callable[[], Awaitable[bool]], seconds: float = 10) -> None:
    for _ in range(int(seconds / 0.02)):
        if await condition():
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {seconds} s")


async def test_serve_collects_periodically_and_survives_a_failed_round(
    services: Services, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(services, clock.now())
    rounds: list[str] = []

    async def flaky(conn: AsyncConnection, **kwargs: Any) -> dict[str, int]:
        if not rounds:
            rounds.append("failed")
            raise OSError("the database went away")
        rounds.append("collected")
        return await collect_garbage(conn, **kwargs)

    monkeypatch.setattr(i18n_connect.gc, "collect_garbage", flaky)

    async def requests_left() -> bool:
        return (await remaining(services))["counts"]["authorization_requests"] == 1

    async with periodic_collection(services.db, clock, interval_seconds=0.05):
        await wait_for(requests_left)
        assert rounds[:2] == ["failed", "collected"]
        tasks = {task.get_name() for task in asyncio.all_tasks()}
        assert "gc" in tasks
    assert "gc" not in {task.get_name() for task in asyncio.all_tasks()}  # cancelled on exit
    assert (await remaining(services))["clients"] == {
        "recently_used",
        "with_live_grant",
        "operator_created",
    }


async def test_an_interval_of_zero_switches_collection_off(
    services: Services, clock: FrozenClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed(services, clock.now())
    async with periodic_collection(services.db, clock, interval_seconds=0):
        assert "gc" not in {task.get_name() for task in asyncio.all_tasks()}
        await asyncio.sleep(0.2)
    assert (await remaining(services))["counts"]["authorization_requests"] == 2


async def test_the_started_app_collects_every_gc_interval(
    settings: Settings,
    clock: FrozenClock,
    start_app: Callable[[Settings], AbstractAsyncContextManager[httpx.AsyncClient]],
) -> None:
    async with start_app(settings.model_copy(update={"gc_interval_seconds": 1})) as client:
        services: Services = client.app.state.services  # type: ignore[attr-defined]
        await seed(services, clock.now())

        async def collected() -> bool:
            return (await remaining(services))["counts"]["authorization_requests"] == 1

        await wait_for(collected)
