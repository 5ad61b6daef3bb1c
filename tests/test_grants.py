"""The grant lifecycle: upsert on re-consent, no revival of revoked grants, revocation cascade."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from click.testing import Result
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection
from typer.testing import CliRunner

from factories import add_grant_tokens
from i18n_connect import cli, grants
from i18n_connect.clock import FrozenClock
from i18n_connect.services import Services
from i18n_connect.settings import Settings
from i18n_connect.storage.oauth_tables import (
    grants as grants_table,
)
from i18n_connect.storage.oauth_tables import (
    installation_tokens,
    oauth_clients,
    refresh_tokens,
)
from i18n_connect.storage.tables import audit_events, memberships, organizations, users


async def seed(conn: AsyncConnection, clock: FrozenClock) -> None:
    now = clock.now()
    await conn.execute(
        insert(users),
        [
            {
                "id": uid,
                "email": f"{uid}@example.com",
                "name": uid,
                "password_hash": "x",
                "created_at": now,
            }
            for uid in ("usr_a", "usr_b")
        ],
    )
    await conn.execute(
        insert(organizations),
        [{"id": oid, "slug": oid, "name": oid, "created_at": now} for oid in ("org_1", "org_2")],
    )
    await conn.execute(
        insert(memberships),
        [
            {"organization_id": "org_1", "user_id": "usr_a", "role": "owner", "created_at": now},
            {"organization_id": "org_2", "user_id": "usr_a", "role": "admin", "created_at": now},
        ],
    )
    await conn.execute(
        insert(oauth_clients).values(
            id="cli_1",
            name="Editor plugin",
            token_endpoint_auth_method="none",
            redirect_uris=["http://127.0.0.1/callback"],
            origin="cli",
            verified=True,
            created_at=now,
        )
    )


async def count(conn: AsyncConnection, table, *where) -> int:  # type: ignore[no-untyped-def]
    return int((await conn.execute(select(func.count()).select_from(table).where(*where))).scalar())


async def test_consent_creates_one_grant_per_organization(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        await seed(conn, clock)
        made = await grants.consent(
            conn,
            user_id="usr_a",
            client_id="cli_1",
            organization_ids=["org_2", "org_1"],
            scope=["keys:read", "org:read"],
            now=clock.now(),
        )
    assert [g.organization_id for g in made] == ["org_2", "org_1"]
    assert all(g.id.startswith("grt_") and g.scope == ("org:read", "keys:read") for g in made)
    async with services.db.transaction(readonly=True) as conn:
        assert await count(conn, grants_table) == 2
        assert await count(conn, audit_events, audit_events.c.action == "grant.consented") == 2
        listed = await grants.list_grants(conn, user_id="usr_a")
    assert {g.id for g in listed} == {g.id for g in made}


async def test_reconsent_updates_grant_in_place_and_keeps_other_devices_tokens(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        await seed(conn, clock)
        (first,) = await grants.consent(
            conn,
            user_id="usr_a",
            client_id="cli_1",
            organization_ids=["org_1"],
            scope=["org:read"],
            now=clock.now(),
        )
        await add_grant_tokens(conn, first.id, organization_id="org_1", tag="old", now=clock.now())
    clock.advance(minutes=5)
    async with services.db.transaction() as conn:
        (second,) = await grants.consent(
            conn,
            user_id="usr_a",
            client_id="cli_1",
            organization_ids=["org_1"],
            scope=["org:read", "translations:publish"],
            now=clock.now(),
        )
    assert second.id == first.id
    assert second.scope == ("org:read", "translations:publish")
    assert second.created_at == first.created_at
    assert second.updated_at == clock.now()
    async with services.db.transaction(readonly=True) as conn:
        assert await count(conn, grants_table) == 1
        # another device connecting: the first device's chain and tokens of kept scopes stay
        assert await count(conn, refresh_tokens, refresh_tokens.c.revoked_at.is_(None)) == 1
        revoked_at = (await conn.execute(select(installation_tokens.c.revoked_at))).scalar_one()
        assert revoked_at is None
        details = (
            (
                await conn.execute(
                    select(audit_events.c.detail)
                    .where(audit_events.c.action == "grant.consented")
                    .order_by(audit_events.c.id)
                )
            )
            .scalars()
            .all()
        )
    assert [d["updated"] for d in details] == [False, True]


async def test_reconsent_without_a_scope_revokes_the_installation_tokens_holding_it(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        await seed(conn, clock)
        (first,) = await grants.consent(
            conn,
            user_id="usr_a",
            client_id="cli_1",
            organization_ids=["org_1"],
            scope=["org:read", "translations:publish"],
            now=clock.now(),
        )
        await add_grant_tokens(conn, first.id, organization_id="org_1", tag="old", now=clock.now())
    clock.advance(minutes=5)
    async with services.db.transaction() as conn:
        await grants.consent(
            conn,
            user_id="usr_a",
            client_id="cli_1",
            organization_ids=["org_1"],
            scope=["translations:publish"],
            now=clock.now(),
        )
    async with services.db.transaction(readonly=True) as conn:
        revoked_at = (await conn.execute(select(installation_tokens.c.revoked_at))).scalar_one()
        assert revoked_at == clock.now()  # it held org:read, which the grant no longer has
        # the refresh chain stays: every refresh narrows to the grant's scope
        assert await count(conn, refresh_tokens, refresh_tokens.c.revoked_at.is_(None)) == 1


async def test_revoked_grant_is_never_revived(services: Services, clock: FrozenClock) -> None:
    async with services.db.transaction() as conn:
        await seed(conn, clock)
        (first,) = await grants.consent(
            conn,
            user_id="usr_a",
            client_id="cli_1",
            organization_ids=["org_1"],
            scope=["org:read"],
            now=clock.now(),
        )
        assert await grants.revoke_grant(
            conn, first.id, actor="usr_a", now=clock.now(), reason="user"
        )
    clock.advance(minutes=1)
    async with services.db.transaction() as conn:
        (second,) = await grants.consent(
            conn,
            user_id="usr_a",
            client_id="cli_1",
            organization_ids=["org_1"],
            scope=["org:read"],
            now=clock.now(),
        )
        old = await grants.get_grant(conn, first.id)
        live = await grants.list_grants(conn, user_id="usr_a")
        everything = await grants.list_grants(conn, user_id="usr_a", include_revoked=True)
    assert second.id != first.id
    assert old is not None and old.revoked_at is not None and not old.live
    assert [g.id for g in live] == [second.id]
    assert {g.id for g in everything} == {first.id, second.id}


async def test_revoke_grant_cascades_and_is_idempotent(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        await seed(conn, clock)
        (grant,) = await grants.consent(
            conn,
            user_id="usr_a",
            client_id="cli_1",
            organization_ids=["org_1"],
            scope=["org:read"],
            now=clock.now(),
        )
        await add_grant_tokens(conn, grant.id, organization_id="org_1", tag="a", now=clock.now())
    clock.advance(minutes=2)
    async with services.db.transaction() as conn:
        first = await grants.revoke_grant(
            conn, grant.id, actor="cli_1", now=clock.now(), reason="partner_delete"
        )
        second = await grants.revoke_grant(
            conn, grant.id, actor="usr_a", now=clock.now(), reason="connected_apps"
        )
        unknown = await grants.revoke_grant(
            conn, "grt_missing", actor="usr_a", now=clock.now(), reason="x"
        )
    assert (first, second, unknown) == (True, False, False)
    async with services.db.transaction(readonly=True) as conn:
        stored = await grants.get_grant(conn, grant.id)
        assert stored is not None
        assert stored.revoked_at == clock.now() and stored.revoked_by == "cli_1"
        assert await count(conn, refresh_tokens) == 0
        assert (
            await count(conn, installation_tokens, installation_tokens.c.revoked_at.is_(None)) == 0
        )
        events = (
            await conn.execute(
                select(audit_events.c.detail, audit_events.c.actor).where(
                    audit_events.c.action == "grant.revoked"
                )
            )
        ).all()
    assert [(e.detail, e.actor) for e in events] == [({"reason": "partner_delete"}, "cli_1")]


async def test_revoke_user_grants_on_organization_touches_only_that_pair(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        await seed(conn, clock)
        await conn.execute(
            insert(memberships).values(
                organization_id="org_1", user_id="usr_b", role="admin", created_at=clock.now()
            )
        )
        mine = await grants.consent(
            conn,
            user_id="usr_a",
            client_id="cli_1",
            organization_ids=["org_1", "org_2"],
            scope=["org:read"],
            now=clock.now(),
        )
        (theirs,) = await grants.consent(
            conn,
            user_id="usr_b",
            client_id="cli_1",
            organization_ids=["org_1"],
            scope=["org:read"],
            now=clock.now(),
        )
        revoked = await grants.revoke_user_grants_on_organization(
            conn,
            user_id="usr_a",
            organization_id="org_1",
            actor="usr_owner",
            now=clock.now(),
            reason="membership_removed",
        )
        again = await grants.revoke_user_grants_on_organization(
            conn,
            user_id="usr_a",
            organization_id="org_1",
            actor="usr_owner",
            now=clock.now(),
            reason="membership_removed",
        )
        live = {g.id for g in await grants.list_grants(conn)}
    assert (revoked, again) == (1, 0)
    assert live == {mine[1].id, theirs.id}


async def test_list_grants_filters_by_client_and_organization(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        await seed(conn, clock)
        made = await grants.consent(
            conn,
            user_id="usr_a",
            client_id="cli_1",
            organization_ids=["org_1", "org_2"],
            scope=["org:read"],
            now=clock.now(),
        )
        by_org = await grants.list_grants(conn, organization_id="org_2")
        by_client = await grants.list_grants(conn, client_id="cli_1")
        by_other_client = await grants.list_grants(conn, client_id="cli_other")
    assert [g.id for g in by_org] == [made[1].id]
    assert {g.id for g in by_client} == {g.id for g in made}
    assert by_other_client == []


def _cli(settings: Settings, monkeypatch: pytest.MonkeyPatch, *args: str) -> Result:
    assert settings.secret_key is not None
    monkeypatch.setenv("I18N_CONNECT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("I18N_CONNECT_SECRET_KEY", settings.secret_key.get_secret_value())
    return CliRunner().invoke(cli.app, list(args), catch_exceptions=False)


def _json(result: Result) -> dict[str, Any]:
    """The command's JSON object: its last line (logging configured by an earlier test in this
    process may print above it)."""
    data: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def _seed_grants(settings: Settings) -> list[grants.Grant]:
    async def run() -> list[grants.Grant]:
        clock = FrozenClock()
        services = Services.build(settings, clock=clock)
        try:
            async with services.db.transaction() as conn:
                await seed(conn, clock)
                mine = await grants.consent(
                    conn,
                    user_id="usr_a",
                    client_id="cli_1",
                    organization_ids=["org_1", "org_2"],
                    scope=["org:read", "keys:read"],
                    now=clock.now(),
                )
                await add_grant_tokens(
                    conn, mine[0].id, organization_id="org_1", tag="cli", now=clock.now()
                )
                return mine
        finally:
            await services.db.dispose()

    return asyncio.run(run())


def test_cli_grants_list_filters_by_user_and_organization(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _seed_grants(settings)
    everything = _cli(settings, monkeypatch, "grants", "list", "--json")
    assert everything.exit_code == 0
    rows = sorted(_json(everything)["grants"], key=lambda r: r["organization_id"])
    assert [r["id"] for r in rows] == [g.id for g in made]
    assert rows[0] | {"created_at": None, "updated_at": None} == {
        "id": made[0].id,
        "user_id": "usr_a",
        "user_email": "usr_a@example.com",
        "client_id": "cli_1",
        "client_name": "Editor plugin",
        "organization_id": "org_1",
        "organization": "org_1",
        "scope": "org:read keys:read",
        "created_at": None,
        "updated_at": None,
        "last_used_at": None,
        "revoked_at": None,
        "revoked_by": None,
    }
    by_org = _cli(settings, monkeypatch, "grants", "list", "--org", "org_2", "--json")
    assert [r["id"] for r in _json(by_org)["grants"]] == [made[1].id]
    by_user = _cli(settings, monkeypatch, "grants", "list", "--user", "USR_B@example.com")
    assert by_user.stdout.strip().endswith("no grants")
    text = _cli(settings, monkeypatch, "grants", "list", "--user", "usr_a@example.com")
    assert made[0].id in text.stdout and "org:read keys:read" in text.stdout
    unknown = _cli(settings, monkeypatch, "grants", "list", "--org", "nope")
    assert unknown.exit_code == 1
    assert "no organization with the slug 'nope'" in unknown.stderr


def test_cli_grants_revoke_cascades_once_and_refuses_unknown_ids(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    made = _seed_grants(settings)
    first = _cli(settings, monkeypatch, "grants", "revoke", made[0].id, "--json")
    assert first.exit_code == 0
    body = _json(first)
    assert body["revoked"] is True and body["revoked_by"] == "cli" and body["revoked_at"]
    again = _cli(settings, monkeypatch, "grants", "revoke", made[0].id)
    assert again.exit_code == 0
    assert again.stdout.strip().endswith(f"grant {made[0].id} was already revoked")
    unknown = _cli(settings, monkeypatch, "grants", "revoke", "grt_nothing")
    assert unknown.exit_code == 1
    assert unknown.stderr.strip() == "error: no grant with the id 'grt_nothing'"
    live = _json(_cli(settings, monkeypatch, "grants", "list", "--json"))["grants"]
    assert [r["id"] for r in live] == [made[1].id]
    listed = _cli(settings, monkeypatch, "grants", "list", "--include-revoked", "--json")
    assert len(_json(listed)["grants"]) == 2

    async def remaining_tokens() -> tuple[int, int]:
        services = Services.build(settings)
        try:
            async with services.db.transaction(readonly=True) as conn:
                return (
                    await count(conn, refresh_tokens),
                    await count(
                        conn, installation_tokens, installation_tokens.c.revoked_at.is_(None)
                    ),
                )
        finally:
            await services.db.dispose()

    assert asyncio.run(remaining_tokens()) == (0, 0)


async def test_concurrent_consents_leave_one_live_grant(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        await seed(conn, clock)

    async def consent_once(scope: str) -> str:
        async with services.db.transaction() as conn:
            (grant,) = await grants.consent(
                conn,
                user_id="usr_a",
                client_id="cli_1",
                organization_ids=["org_1"],
                scope=[scope],
                now=clock.now(),
            )
            return grant.id

    ids = await asyncio.gather(*(consent_once(s) for s in ("org:read", "keys:read") * 3))
    assert len(set(ids)) == 1
    async with services.db.transaction(readonly=True) as conn:
        assert await count(conn, grants_table) == 1
