"""The client configuration endpoint (RFC 7592 §2-3): GET, PUT and DELETE with the
registration access token, their exact errors, and what each leaves in the database."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from api_world import World
from sqlalchemy import select

from i18n_connect import grants as grant_store
from i18n_connect.oauth.pkce import s256_challenge
from i18n_connect.storage.oauth_tables import grants, oauth_clients
from i18n_connect.storage.tables import audit_events

REGISTER = "/api/auth/mcp/register"
FIRST = "https://app.example.com/cb"
SECOND = "https://app.example.com/new-callback"
NOT_VALID = "The registration access token is not valid for this client."


async def register(world: World, **metadata: Any) -> dict[str, Any]:
    response = await world.http.post(
        REGISTER, json={"client_name": "Agent", "redirect_uris": [FIRST], **metadata}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def path(registered: dict[str, Any]) -> str:
    return f"{REGISTER}/{registered['client_id']}"


async def row(world: World, client_id: str) -> Any:
    async with world.services.db.transaction(readonly=True) as conn:
        return (
            await conn.execute(select(oauth_clients).where(oauth_clients.c.id == client_id))
        ).one()


def assert_invalid_token(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json() == {"error": "invalid_token", "error_description": NOT_VALID}
    assert response.headers["www-authenticate"].startswith('Bearer error="invalid_token"')
    assert response.headers["cache-control"] == "no-store"


async def test_registration_returns_the_configuration_uri_and_a_hashed_token(
    world: World,
) -> None:
    registered = await register(world)
    issuer = world.services.settings.issuer
    assert registered["registration_client_uri"] == f"{issuer}{path(registered)}"
    token = registered["registration_access_token"]
    assert token.startswith("rat_") and len(token) >= 43
    stored = await row(world, registered["client_id"])
    assert stored.registration_token_hash == world.services.hasher.hash(token)
    assert token not in str(stored._mapping)


async def test_get_returns_the_client_information_without_a_secret(world: World) -> None:
    registered = await register(world, client_uri="https://app.example.com")
    response = await world.http.get(
        path(registered), headers=bearer(registered["registration_access_token"])
    )
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    expected = {key: value for key, value in registered.items() if key != "client_secret"}
    assert response.json() == expected


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({}, id="missing"),
        pytest.param(bearer("rat_wrong"), id="wrong"),
        pytest.param({"Authorization": "Basic cmF0Og=="}, id="not-bearer"),
        pytest.param({"Authorization": "Bearer "}, id="empty"),
    ],
)
@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_a_missing_or_wrong_token_is_invalid_token(
    world: World, headers: dict[str, str], method: str
) -> None:
    registered = await register(world)
    response = await world.http.request(
        method, path(registered), headers=headers, json={"client_id": registered["client_id"]}
    )
    assert_invalid_token(response)
    stored = await row(world, registered["client_id"])
    assert (stored.deleted_at, stored.redirect_uris) == (None, [FIRST])


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE"])
async def test_another_clients_token_and_an_unknown_client_look_the_same(
    world: World, method: str
) -> None:
    mine, theirs = await register(world), await register(world)
    token = theirs["registration_access_token"]
    body = {"client_id": mine["client_id"], "redirect_uris": [SECOND]}
    other = await world.http.request(method, path(mine), headers=bearer(token), json=body)
    unknown = await world.http.request(
        method, f"{REGISTER}/cli_unknown", headers=bearer(token), json=body
    )
    operator = await world.http.request(
        method, f"{REGISTER}/{world.client_id}", headers=bearer(token), json=body
    )
    for response in (other, unknown, operator):
        assert_invalid_token(response)
    assert (await row(world, mine["client_id"])).redirect_uris == [FIRST]
    assert (await row(world, world.client_id)).deleted_at is None


async def test_put_replaces_the_metadata_and_authorize_uses_the_new_redirect_uri(
    world: World,
) -> None:
    registered = await register(world, token_endpoint_auth_method="none", scope="org:read")
    token = registered["registration_access_token"]
    response = await world.http.put(
        path(registered),
        headers=bearer(token),
        json={**registered, "client_name": "Agent 2", "redirect_uris": [SECOND], "scope": None},
    )
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["client_name"] == "Agent 2"
    assert body["redirect_uris"] == [SECOND]
    assert body["registration_access_token"] == token  # not rotated
    assert body["token_endpoint_auth_method"] == "none"
    stored = await row(world, registered["client_id"])
    assert (stored.name, stored.redirect_uris, stored.scope) == ("Agent 2", [SECOND], None)
    params = {
        "client_id": registered["client_id"],
        "response_type": "code",
        "code_challenge": s256_challenge("v" * 43),
        "code_challenge_method": "S256",
    }
    new = await world.http.get("/api/auth/mcp/authorize", params={**params, "redirect_uri": SECOND})
    old = await world.http.get("/api/auth/mcp/authorize", params={**params, "redirect_uri": FIRST})
    assert new.status_code == 303 and new.headers["location"].startswith("/login?")
    assert old.status_code == 400 and "location" not in old.headers
    async with world.services.db.transaction(readonly=True) as conn:
        actions = list(await conn.scalars(select(audit_events.c.action)))
    assert "client.updated" in actions


async def test_put_keeps_the_secret_of_a_confidential_client(world: World) -> None:
    registered = await register(world)
    response = await world.http.put(
        path(registered),
        headers=bearer(registered["registration_access_token"]),
        json={"client_id": registered["client_id"], "redirect_uris": [SECOND]},
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "client_secret" not in body
    assert body["token_endpoint_auth_method"] == "client_secret_basic"
    assert body["client_name"] == "Unnamed app"  # omitted: back to the default
    stored = await row(world, registered["client_id"])
    assert world.services.hasher.matches(registered["client_secret"], stored.secret_hash)


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        pytest.param(
            {"client_id": "cli_other"},
            "invalid_client_metadata",
            "client_id is required and must be this client's id.",
            id="other-client-id",
        ),
        pytest.param(
            {"client_id": None},
            "invalid_client_metadata",
            "client_id is required and must be this client's id.",
            id="no-client-id",
        ),
        pytest.param(
            {"redirect_uris": ["http://app.example.com/cb"]},
            "invalid_redirect_uri",
            "An http redirect URI is only allowed on 127.0.0.1, [::1] or localhost; use https.",
            id="bad-redirect-uri",
        ),
        pytest.param(
            {"scope": "admin:all"},
            "invalid_client_metadata",
            "Unknown scope: admin:all.",
            id="bad-scope",
        ),
        pytest.param(
            {"registration_access_token": "rat_mine"},
            "invalid_client_metadata",
            "registration_access_token is set by the server and cannot be changed.",
            id="own-token",
        ),
        pytest.param(
            {"registration_client_uri": "https://evil.example/x"},
            "invalid_client_metadata",
            "registration_client_uri is set by the server and cannot be changed.",
            id="configuration-uri",
        ),
        pytest.param(
            {"client_secret_expires_at": 1},
            "invalid_client_metadata",
            "client_secret_expires_at is set by the server and cannot be changed.",
            id="secret-expiry",
        ),
        pytest.param(
            {"client_id_issued_at": 5},
            "invalid_client_metadata",
            "client_id_issued_at is set by the server and cannot be changed.",
            id="issued-at",
        ),
        pytest.param(
            {"client_secret": "cs_chosen_by_me"},
            "invalid_client_metadata",
            "client_secret must be the current secret; a client cannot choose its own.",
            id="own-secret",
        ),
        pytest.param(
            {"token_endpoint_auth_method": "none"},
            "invalid_client_metadata",
            "A client cannot change between public and confidential; register a new one.",
            id="becomes-public",
        ),
    ],
)
async def test_put_refuses_bad_metadata_and_changes_nothing(
    world: World, change: dict[str, Any], error: str, description: str
) -> None:
    registered = await register(world)
    body = {**registered, "redirect_uris": [SECOND], **change}
    response = await world.http.put(
        path(registered), headers=bearer(registered["registration_access_token"]), json=body
    )
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}
    stored = await row(world, registered["client_id"])
    assert (stored.redirect_uris, stored.name) == ([FIRST], "Agent")


async def test_put_with_a_body_that_is_not_an_object_is_invalid_client_metadata(
    world: World,
) -> None:
    registered = await register(world)
    response = await world.http.put(
        path(registered),
        headers=bearer(registered["registration_access_token"]),
        content=b"[1, 2]",
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_client_metadata"


async def test_delete_revokes_every_grant_and_kills_the_token(world: World) -> None:
    registered = await register(world, token_endpoint_auth_method="none")
    client_id = registered["client_id"]
    services = world.services
    async with services.db.transaction() as conn:
        (grant,) = await grant_store.consent(
            conn,
            user_id=world.ada,
            client_id=client_id,
            organization_ids=[world.orgs["acme"]],
            scope=["org:read"],
            now=services.clock.now(),
        )
    issued = await services.tokens.issue(
        user_id=world.ada,
        client_id=client_id,
        scope=["org:read"],
        grant_ids=[grant.id],
        audience=services.settings.api_resource,
    )
    minted = await world.http.post(
        f"/api/oauth-client/installations/{grant.id}/tokens", json={}, headers=bearer(issued.token)
    )
    assert minted.status_code == 201, minted.text
    installation = minted.json()["installation_token"]
    organizations = "/api/oauth-client/organizations"
    assert (await world.http.get(organizations, headers=bearer(installation))).status_code == 200

    token = registered["registration_access_token"]
    response = await world.http.delete(path(registered), headers=bearer(token))
    assert response.status_code == 204
    assert response.content == b""

    assert (await world.http.get(organizations, headers=bearer(installation))).status_code == 410
    assert_invalid_token(await world.http.get(path(registered), headers=bearer(token)))
    assert_invalid_token(await world.http.delete(path(registered), headers=bearer(token)))
    stored = await row(world, client_id)
    assert stored.deleted_at == services.clock.now()
    assert (stored.registration_token_hash, stored.secret_hash) == (None, None)
    async with services.db.transaction(readonly=True) as conn:
        revoked = (await conn.execute(select(grants).where(grants.c.id == grant.id))).one()
        events = (
            await conn.execute(
                select(audit_events.c.action, audit_events.c.detail).where(
                    audit_events.c.client_id == client_id
                )
            )
        ).all()
    assert (revoked.revoked_at, revoked.revoked_by) == (services.clock.now(), client_id)
    assert ("grant.revoked", {"reason": "client_deleted"}) in events
    assert ("client.deleted", {"reason": "client_deleted", "grants_revoked": 1}) in events
    authorize = await world.http.get(
        "/api/auth/mcp/authorize",
        params={"client_id": client_id, "redirect_uri": FIRST, "response_type": "code"},
    )
    assert authorize.status_code == 400 and "location" not in authorize.headers
    again = await register(world)  # the same metadata registers again, as a new client
    assert again["client_id"] != client_id


async def test_configuration_endpoint_stays_on_when_registration_is_switched_off(
    world: World,
) -> None:
    registered = await register(world)
    world.services.settings.registration_enabled = False
    try:
        response = await world.http.get(
            path(registered), headers=bearer(registered["registration_access_token"])
        )
    finally:
        world.services.settings.registration_enabled = True
    assert response.status_code == 200
