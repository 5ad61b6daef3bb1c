"""Minting installation tokens, revoking grants over the partner API, and /me."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from api_world import ALL_SCOPES, World
from sqlalchemy import func, insert, select

from i18n_connect.clock import FrozenClock
from i18n_connect.storage.oauth_tables import (
    grants,
    installation_tokens,
    refresh_chains,
    refresh_tokens,
)
from i18n_connect.storage.tables import audit_events

MINT = "/api/oauth-client/installations/{}/tokens"


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def count(world: World, table: Any, *where: Any) -> int:
    async with world.services.db.transaction(readonly=True) as conn:
        return int(await conn.scalar(select(func.count()).select_from(table).where(*where)) or 0)


async def audit_rows(world: World, action: str) -> list[Any]:
    async with world.services.db.transaction(readonly=True) as conn:
        rows = await conn.execute(
            select(audit_events).where(audit_events.c.action == action).order_by(audit_events.c.id)
        )
        return list(rows)


async def test_mint_returns_a_one_hour_token_stored_only_as_a_hash(
    world: World, clock: FrozenClock
) -> None:
    token = await world.access_token()
    response = await world.http.post(MINT.format(world.grants["acme"]), headers=bearer(token))
    assert response.status_code == 201
    assert response.headers["cache-control"] == "no-store"  # a credential (RFC 6749 §5.1)
    assert response.headers["pragma"] == "no-cache"
    body = response.json()
    secret = body.pop("installation_token")
    assert secret.startswith("bi_oat_") and len(secret) >= 7 + 43
    assert body == {
        "token_type": "Bearer",
        "expires_at": (clock.now() + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "expires_in": 3600,
        "organization_id": world.orgs["acme"],
        "project_ids": [],
        "scopes": list(ALL_SCOPES),
    }
    async with world.services.db.transaction(readonly=True) as conn:
        [row] = list(await conn.execute(select(installation_tokens)))
    assert row.token_hash == world.services.hasher.hash(secret)
    assert secret not in str(tuple(row))
    assert row.expires_at == clock.now() + timedelta(hours=1)
    [event] = await audit_rows(world, "installation_token.minted")
    assert (event.actor, event.grant_id, event.organization_id, event.user_id) == (
        world.client_id,
        world.grants["acme"],
        world.orgs["acme"],
        world.ada,
    )
    assert event.detail == {
        "token_id": row.id,
        "chain_id": None,  # an access token issued without a refresh chain
        "project_ids": [],
        "scope": " ".join(ALL_SCOPES),
    }
    assert secret not in str(event.detail)
    metrics = (await world.http.get("/metrics")).text
    assert "i18n_connect_installation_tokens_minted_total 1.0" in metrics


async def test_the_expiry_is_iso_8601_utc(world: World) -> None:
    token = await world.access_token()
    response = await world.http.post(MINT.format(world.grants["acme"]), headers=bearer(token))
    expires_at = datetime.fromisoformat(response.json()["expires_at"].replace("Z", "+00:00"))
    assert expires_at.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    ("body", "expected_projects", "expected_scopes"),
    [
        pytest.param({}, [], list(ALL_SCOPES), id="empty-body-is-the-whole-grant"),
        pytest.param({"scopes": ["keys:read"]}, [], ["keys:read"], id="fewer-scopes"),
        pytest.param(
            {"scopes": ["translations:read", "keys:read", "keys:read"]},
            [],
            ["keys:read", "translations:read"],
            id="scopes-deduplicated-in-catalog-order",
        ),
        pytest.param(
            {"project_ids": ["acme/web"]}, ["acme/web"], list(ALL_SCOPES), id="one-project"
        ),
        pytest.param(
            {"project_ids": []}, [], list(ALL_SCOPES), id="empty-projects-is-every-project"
        ),
        pytest.param(
            {"project_ids": ["acme/mobile", "acme/web"], "scopes": ["org:read"]},
            ["acme/mobile", "acme/web"],
            ["org:read"],
            id="both",
        ),
    ],
)
async def test_mint_body_may_narrow_the_grant(
    world: World, body: dict[str, Any], expected_projects: list[str], expected_scopes: list[str]
) -> None:
    if "project_ids" in body:
        body = {**body, "project_ids": [world.projects[name] for name in body["project_ids"]]}
    token = await world.access_token()
    response = await world.http.post(
        MINT.format(world.grants["acme"]), json=body, headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    assert response.json()["project_ids"] == [world.projects[name] for name in expected_projects]
    assert response.json()["scopes"] == expected_scopes


@pytest.mark.parametrize(
    ("body", "named"),
    [
        pytest.param({"scopes": ["admin:all"]}, "admin:all", id="unknown-scope"),
        pytest.param(
            {"scopes": ["keys:read", "glossary:write"]}, "glossary:write", id="wider-scope"
        ),
        pytest.param({"scopes": []}, "at least one scope", id="no-scopes"),
        pytest.param({"project_ids": ["globex/web"]}, "globex/web", id="project-of-another-org"),
        pytest.param({"project_ids": ["prj_unknown"]}, "prj_unknown", id="unknown-project"),
        pytest.param({"organization_id": "org_x"}, "organization_id", id="unknown-field"),
        pytest.param({"scopes": "keys:read"}, "scopes", id="scopes-not-a-list"),
    ],
)
async def test_mint_body_wider_than_the_grant_is_refused(
    world: World, body: dict[str, Any], named: str
) -> None:
    async with world.services.db.transaction() as conn:  # this grant lacks glossary:write
        await conn.execute(
            grants.update()
            .where(grants.c.id == world.grants["acme"])
            .values(scope=" ".join(s for s in ALL_SCOPES if s != "glossary:write"))
        )
    if body.get("project_ids") == ["globex/web"]:
        body = {**body, "project_ids": [world.projects["globex/web"]]}
        named = world.projects["globex/web"]
    token = await world.access_token()
    response = await world.http.post(
        MINT.format(world.grants["acme"]), json=body, headers=bearer(token)
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert named in response.json()["error_description"]
    assert await count(world, installation_tokens) == 0
    assert await audit_rows(world, "installation_token.minted") == []


async def test_minted_scopes_never_exceed_the_access_tokens_scopes(world: World) -> None:
    token = await world.access_token(scopes=["keys:read", "org:read"])
    response = await world.http.post(MINT.format(world.grants["acme"]), headers=bearer(token))
    assert response.json()["scopes"] == ["org:read", "keys:read"]
    refused = await world.http.post(
        MINT.format(world.grants["acme"]), json={"scopes": ["keys:write"]}, headers=bearer(token)
    )
    assert (refused.status_code, refused.json()["error"]) == (400, "invalid_request")


@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        pytest.param("grant-not-covered", 404, "grant_not_found", id="grant-not-covered"),
        pytest.param("unknown-grant", 404, "grant_not_found", id="unknown-grant"),
        pytest.param("other-clients-token", 404, "grant_not_found", id="other-clients-token"),
        pytest.param("revoked-grant", 410, "grant_revoked", id="revoked-grant"),
        pytest.param("installation-token", 401, "invalid_token", id="installation-token"),
        pytest.param("expired-access-token", 401, "invalid_token", id="expired-access-token"),
        pytest.param("mcp-audience", 401, "invalid_token", id="mcp-audience"),
        pytest.param("no-token", 401, "invalid_token", id="no-token"),
        pytest.param("x-api-key", 401, "invalid_token", id="access-token-as-x-api-key"),
        pytest.param("query-string", 401, "invalid_token", id="token-in-query-string"),
    ],
)
async def test_mint_refusals(
    world: World, clock: FrozenClock, case: str, status: int, error: str
) -> None:
    grant_id = world.grants["acme"]
    headers: dict[str, str] = {}
    url = MINT.format(grant_id)
    if case == "grant-not-covered":
        headers = bearer(await world.access_token(("globex",)))
    elif case == "unknown-grant":
        headers = bearer(await world.access_token())
        url = MINT.format("grt_unknown")
    elif case == "other-clients-token":
        headers = bearer(await world.access_token(client_id=world.other_client_id))
    elif case == "revoked-grant":
        headers = bearer(await world.access_token())
        assert (
            await world.http.delete(f"/api/oauth-client/installations/{grant_id}", headers=headers)
        ).status_code == 204
    elif case == "installation-token":
        headers = bearer(await world.mint())
    elif case == "expired-access-token":
        headers = bearer(await world.access_token())
        clock.advance(minutes=30)
    elif case == "mcp-audience":
        headers = bearer(await world.access_token(audience=world.services.settings.mcp_resource))
    elif case == "x-api-key":
        headers = {"x-api-key": await world.access_token()}
    elif case == "query-string":
        url += f"?access_token={await world.access_token()}"
    before = await count(world, installation_tokens)
    response = await world.http.post(url, headers=headers)
    assert response.status_code == status
    assert response.json()["error"] == error
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith('Bearer error="invalid_token"')
    assert await count(world, installation_tokens) == before


async def test_mint_is_rate_limited_per_grant(world: World, clock: FrozenClock) -> None:
    world.services.settings.mint_rate_per_minute = 2
    token = await world.access_token(("acme", "globex"))
    clock.advance(seconds=60 - clock.now().second)  # start of a window
    for _ in range(2):
        ok = await world.http.post(MINT.format(world.grants["acme"]), headers=bearer(token))
        assert ok.status_code == 201
    limited = await world.http.post(MINT.format(world.grants["acme"]), headers=bearer(token))
    assert limited.status_code == 429
    assert limited.json()["error"] == "rate_limited"
    assert limited.headers["Retry-After"] == "60"
    other_grant = await world.http.post(MINT.format(world.grants["globex"]), headers=bearer(token))
    assert other_grant.status_code == 201
    assert await count(world, installation_tokens) == 3
    clock.advance(seconds=60)
    again = await world.http.post(MINT.format(world.grants["acme"]), headers=bearer(token))
    assert again.status_code == 201


async def test_delete_revokes_the_grant_and_everything_under_it(
    world: World, clock: FrozenClock
) -> None:
    installation = await world.mint()
    access = await world.access_token(("acme", "globex"))
    async with world.services.db.transaction() as conn:
        await conn.execute(
            insert(refresh_chains).values(
                id="rch_1", grant_id=world.grants["acme"], created_at=clock.now()
            )
        )
        await conn.execute(
            insert(refresh_tokens).values(
                id="rtk_1",
                chain_id="rch_1",
                token_hash="h" * 64,
                grant_id=world.grants["acme"],
                scope="org:read",
                created_at=clock.now(),
                expires_at=clock.now() + timedelta(days=30),
            )
        )
    url = f"/api/oauth-client/installations/{world.grants['acme']}"
    first = await world.http.delete(url, headers=bearer(access))
    assert (first.status_code, first.content) == (204, b"")
    again = await world.http.delete(url, headers=bearer(access))
    assert again.status_code == 204
    used = await world.http.get("/api/oauth-client/organizations", headers=bearer(installation))
    assert (used.status_code, used.json()["error"]) == (410, "grant_revoked")
    assert await count(world, refresh_tokens) == 0
    assert await count(world, grants, grants.c.revoked_at.is_not(None)) == 1
    [event] = await audit_rows(world, "grant.revoked")
    assert (event.grant_id, event.actor, event.detail) == (
        world.grants["acme"],
        world.client_id,
        {"reason": "partner_api"},
    )
    still = await world.http.post(MINT.format(world.grants["globex"]), headers=bearer(access))
    assert still.status_code == 201
    metrics = (await world.http.get("/metrics")).text
    assert 'i18n_connect_grants_revoked_total{via="partner_api"} 1.0' in metrics


@pytest.mark.parametrize(
    ("case", "status", "error"),
    [
        pytest.param("grant-not-covered", 404, "grant_not_found", id="grant-not-covered"),
        pytest.param("other-clients-token", 404, "grant_not_found", id="other-clients-token"),
        pytest.param("installation-token", 401, "invalid_token", id="installation-token"),
        pytest.param("no-token", 401, "invalid_token", id="no-token"),
    ],
)
async def test_delete_refusals_revoke_nothing(
    world: World, case: str, status: int, error: str
) -> None:
    headers: dict[str, str] = {}
    if case == "grant-not-covered":
        headers = bearer(await world.access_token(("globex",)))
    elif case == "other-clients-token":
        headers = bearer(await world.access_token(client_id=world.other_client_id))
    elif case == "installation-token":
        headers = bearer(await world.mint())
    response = await world.http.delete(
        f"/api/oauth-client/installations/{world.grants['acme']}", headers=headers
    )
    assert (response.status_code, response.json()["error"]) == (status, error)
    assert await count(world, grants, grants.c.revoked_at.is_not(None)) == 0


async def test_me_shows_the_user_client_and_live_grants_of_the_token(world: World) -> None:
    token = await world.access_token(("acme", "globex"))
    response = await world.http.get("/api/oauth-client/me", headers=bearer(token))
    assert response.status_code == 200
    body = response.json()
    assert body["user"] == {"id": world.ada, "email": "ada@example.com", "name": "Ada"}
    assert body["client"] == {"client_id": world.client_id, "name": "Partner App"}
    assert [(g["grant_id"], g["organization"]["slug"]) for g in body["grants"]] == [
        (world.grants["acme"], "acme"),
        (world.grants["globex"], "globex"),
    ]
    assert body["grants"][0]["scopes"] == list(ALL_SCOPES)
    await world.http.delete(
        f"/api/oauth-client/installations/{world.grants['acme']}", headers=bearer(token)
    )
    after = (await world.http.get("/api/oauth-client/me", headers=bearer(token))).json()
    assert [g["grant_id"] for g in after["grants"]] == [world.grants["globex"]]


async def test_me_refuses_installation_tokens(world: World) -> None:
    response = await world.http.get("/api/oauth-client/me", headers=bearer(await world.mint()))
    assert (response.status_code, response.json()["error"]) == (401, "invalid_token")
    assert "access token" in response.json()["error_description"]
