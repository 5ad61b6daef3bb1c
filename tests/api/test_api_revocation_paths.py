"""Every path that revokes a grant runs the same cascade: the grant is marked revoked, an
audit row names who and why, its refresh tokens are gone, and its installation tokens answer
410 on the very next request (SPEC §4, §6)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from api_world import World
from argon2 import PasswordHasher
from sqlalchemy import func, insert, select, update

from i18n_connect import grants as grant_lifecycle
from i18n_connect.platform.organizations import add_member, remove_member, set_role
from i18n_connect.storage.oauth_tables import grants, refresh_chains, refresh_tokens
from i18n_connect.storage.tables import audit_events, users

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def _bob_on_acme(world: World) -> str:
    """Bob becomes an admin of acme and connects the partner app there; his grant id."""
    now = world.services.clock.now()
    async with world.services.db.transaction() as conn:
        await add_member(
            conn, organization_id=world.orgs["acme"], user_id=world.bob, role="admin", now=now
        )
        [grant] = await grant_lifecycle.consent(
            conn,
            user_id=world.bob,
            client_id=world.client_id,
            organization_ids=[world.orgs["acme"]],
            scope=["org:read"],
            now=now,
        )
        await conn.execute(
            insert(refresh_chains).values(id="rch_1", grant_id=grant.id, created_at=now)
        )
        await conn.execute(
            insert(refresh_tokens).values(
                id="rtk_bob",
                chain_id="rch_1",
                token_hash="b" * 64,
                grant_id=grant.id,
                scope="org:read",
                created_at=now,
                expires_at=now + timedelta(days=30),
            )
        )
    world.grants["acme-bob"] = grant.id
    return grant.id


async def _mint_for_bob(world: World) -> str:
    access = await world.access_token(("acme-bob",), user=world.bob, scopes=["org:read"])
    response = await world.http.post(
        f"/api/oauth-client/installations/{world.grants['acme-bob']}/tokens",
        headers={"Authorization": f"Bearer {access}"},
    )
    assert response.status_code == 201, response.text
    token: str = response.json()["installation_token"]
    return token


async def _signed_in_post(world: World, email: str, path: str) -> int:
    async with world.services.db.transaction() as conn:
        await conn.execute(
            update(users)
            .where(users.c.email == email)
            .values(password_hash=PasswordHasher().hash("correct horse battery"))
        )
    http = world.http
    http.cookies.clear()
    form = await http.get("/login")
    csrf = _CSRF.search(form.text)
    assert csrf
    await http.post(
        "/login",
        data={"email": email, "password": "correct horse battery", "csrf_token": csrf.group(1)},
    )
    page = await http.get("/settings/connected-apps")
    token = _CSRF.search(page.text)
    assert token
    response = await http.post(path, data={"csrf_token": token.group(1)})
    http.cookies.clear()
    return response.status_code


async def _revoke(world: World, path: str, grant_id: str) -> None:
    services, now = world.services, world.services.clock.now()
    if path == "partner-delete":
        access = await world.access_token(("acme-bob",), user=world.bob, scopes=["org:read"])
        response = await world.http.delete(
            f"/api/oauth-client/installations/{grant_id}",
            headers={"Authorization": f"Bearer {access}"},
        )
        assert response.status_code == 204
    elif path == "connected-apps-own":
        status = await _signed_in_post(
            world, "bob@example.com", f"/settings/connected-apps/{grant_id}/revoke"
        )
        assert status == 303
    elif path == "connected-apps-admin":
        status = await _signed_in_post(
            world, "ada@example.com", f"/settings/connected-apps/{grant_id}/revoke"
        )
        assert status == 303
    else:
        async with services.db.transaction() as conn:
            if path == "member-removed":
                await remove_member(
                    conn,
                    organization_id=world.orgs["acme"],
                    user_id=world.bob,
                    now=now,
                    actor=world.ada,
                )
            elif path == "member-demoted":
                await set_role(
                    conn,
                    organization_id=world.orgs["acme"],
                    user_id=world.bob,
                    role="member",
                    now=now,
                    actor=world.ada,
                )
            else:
                assert path == "operator-cli"
                await grant_lifecycle.revoke_grant(
                    conn, grant_id, actor="cli", now=now, reason="cli"
                )


@pytest.mark.parametrize(
    ("path", "actor", "reason"),
    [
        pytest.param("partner-delete", "client", "partner_api", id="partner-delete"),
        pytest.param("connected-apps-own", "bob", "connected_apps", id="connected-apps-own"),
        pytest.param(
            "connected-apps-admin", "ada", "connected_apps.admin", id="connected-apps-admin"
        ),
        pytest.param("member-removed", "ada", "membership.removed", id="member-removed"),
        pytest.param("member-demoted", "ada", "membership.demoted", id="member-demoted"),
        pytest.param("operator-cli", "cli", "cli", id="operator-cli"),
    ],
)
async def test_every_revocation_path_runs_the_whole_cascade(
    world: World, path: str, actor: str, reason: str
) -> None:
    grant_id = await _bob_on_acme(world)
    token = await _mint_for_bob(world)
    ada_token = await world.mint()
    ok = await world.http.get("/api/oauth-client/organizations", headers={"x-api-key": token})
    assert ok.status_code == 200
    await _revoke(world, path, grant_id)
    refused = await world.http.get("/api/oauth-client/organizations", headers={"x-api-key": token})
    assert (refused.status_code, refused.json()["error"]) == (410, "grant_revoked")
    other = await world.http.get(
        "/api/oauth-client/organizations", headers={"x-api-key": ada_token}
    )
    assert other.status_code == 200  # Ada's own grant on acme is untouched
    async with world.services.db.transaction(readonly=True) as conn:
        revoked_at = await conn.scalar(select(grants.c.revoked_at).where(grants.c.id == grant_id))
        remaining = await conn.scalar(
            select(func.count())
            .select_from(refresh_tokens)
            .where(refresh_tokens.c.grant_id == grant_id)
        )
        events: list[Any] = list(
            await conn.execute(
                select(audit_events).where(
                    audit_events.c.grant_id == grant_id, audit_events.c.action == "grant.revoked"
                )
            )
        )
    assert revoked_at is not None
    assert remaining == 0
    expected_actor = {"client": world.client_id, "bob": world.bob, "ada": world.ada, "cli": "cli"}
    assert [(e.actor, e.detail["reason"]) for e in events] == [(expected_actor[actor], reason)]
