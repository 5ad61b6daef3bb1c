"""POST /api/auth/mcp/token with grant_type=authorization_code (SPEC §3, RFC 6749 §4.1.3)."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from oauth_token_world import (
    LOOPBACK,
    REDIRECT,
    TOKEN,
    Code,
    TokenWorld,
    basic,
    make_token_world,
    verifier,
)

from i18n_connect import grants
from i18n_connect.clock import FrozenClock
from i18n_connect.storage.oauth_tables import (
    authorization_codes,
    oauth_clients,
    refresh_chains,
    refresh_tokens,
)
from i18n_connect.storage.oauth_tables import grants as grants_table
from i18n_connect.storage.tables import audit_events


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> TokenWorld:
    return await make_token_world(app_client)


async def consumed(world: TokenWorld, code: Code) -> bool:
    hashed = world.services.hasher.hash(code.code)
    value = await world.scalar(
        sa.select(authorization_codes.c.consumed_at).where(
            authorization_codes.c.code_hash == hashed
        )
    )
    return value is not None


async def test_exchange_returns_one_refresh_token_per_organization(world: TokenWorld) -> None:
    code = await world.code(organizations=[world.acme, world.globex])

    response = await world.post(code.form())

    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
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
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 1800
    assert body["scope"] == "org:read keys:read keys:write"
    assert [entry["organization_id"] for entry in body["grants"]] == [world.acme, world.globex]
    assert [entry["grant_id"] for entry in body["grants"]] == list(code.grant_ids)
    first = body["grants"][0]
    assert (body["grant_id"], body["organization_id"], body["refresh_token"]) == (
        first["grant_id"],
        first["organization_id"],
        first["refresh_token"],
    )
    refresh = [entry["refresh_token"] for entry in body["grants"]]
    assert all(token.startswith("rt_") for token in refresh) and len(set(refresh)) == 2
    claims = await world.services.tokens.verify(
        body["access_token"], audience=world.services.settings.api_resource
    )
    assert claims.grant_ids == code.grant_ids
    assert claims.sub == world.user_id and claims.client_id == world.public_id
    assert await consumed(world, code)
    assert await world.count(refresh_tokens) == 2
    now = world.services.clock.now()
    assert await world.count(oauth_clients, oauth_clients.c.last_used_at == now) == 1
    assert await world.count(grants_table, grants_table.c.last_used_at == now) == 2


async def test_exchange_accepts_a_json_body(world: TokenWorld) -> None:
    code = await world.code()
    response = await world.post(code.form(), as_json=True)
    assert response.status_code == 200
    assert response.json()["grant_id"] == code.grant_ids[0]


@pytest.mark.parametrize("method", ["client_secret_basic", "client_secret_post"])
async def test_confidential_client_authenticates_with_its_secret(
    world: TokenWorld, method: str
) -> None:
    code = await world.code(client_id=world.confidential_id)
    if method == "client_secret_basic":
        headers = {"Authorization": basic(world.confidential_id, world.confidential_secret)}
        response = await world.post(code.form(), headers=headers)
    else:
        response = await world.post(code.form(client_secret=world.confidential_secret))
    assert response.status_code == 200
    assert response.json()["grant_id"] == code.grant_ids[0]


async def test_public_client_may_name_itself_in_basic_with_an_empty_password(
    world: TokenWorld,
) -> None:
    code = await world.code()
    headers = {"Authorization": basic(world.public_id, "")}
    response = await world.post(code.form(client_id=None), headers=headers)
    assert response.status_code == 200
    assert response.json()["grant_id"] == code.grant_ids[0]


@dataclass(frozen=True)
class Hostile:
    """A broken token request: how to break it, and the answer it must get."""

    build: Callable[[TokenWorld, Code], dict[str, Any]]  # keyword arguments of httpx post
    status: int
    error: str
    confidential: bool = False
    basic_challenge: bool = False


def form(**overrides: str | None) -> Callable[[TokenWorld, Code], dict[str, Any]]:
    return lambda _world, code: {"data": code.form(**overrides)}


def raw(body: Callable[[Code], str], content_type: str = "application/x-www-form-urlencoded"):  # type: ignore[no-untyped-def]
    return lambda _world, code: {
        "content": body(code).encode(),
        "headers": {"Content-Type": content_type},
    }


def encoded(code: Code, **extra: str) -> str:
    return httpx.QueryParams({**code.form(), **extra}).__str__()


HOSTILE: dict[str, Hostile] = {
    "wrong verifier": Hostile(form(code_verifier=verifier(7)), 400, "invalid_grant"),
    "missing verifier": Hostile(form(code_verifier=None), 400, "invalid_request"),
    "empty verifier counts as missing": Hostile(form(code_verifier=""), 400, "invalid_request"),
    "42-character verifier": Hostile(form(code_verifier="a" * 42), 400, "invalid_request"),
    "129-character verifier": Hostile(form(code_verifier="a" * 129), 400, "invalid_request"),
    "verifier with a space": Hostile(
        form(code_verifier="a" * 30 + " " + "a" * 30), 400, "invalid_request"
    ),
    "the challenge sent as verifier": Hostile(
        lambda world, code: {"data": code.form(code_verifier=_challenge(code))},
        400,
        "invalid_grant",
    ),
    "missing code": Hostile(form(code=None), 400, "invalid_request"),
    "unknown code": Hostile(form(code="ac_" + "x" * 43), 400, "invalid_grant"),
    "redirect_uri with trailing slash": Hostile(
        form(redirect_uri=REDIRECT + "/"), 400, "invalid_grant"
    ),
    "redirect_uri in upper case": Hostile(
        form(redirect_uri=REDIRECT.replace("app.example.com", "APP.example.com")),
        400,
        "invalid_grant",
    ),
    "redirect_uri with a query": Hostile(
        form(redirect_uri=REDIRECT + "?x=1"), 400, "invalid_grant"
    ),
    "redirect_uri of another registered URI": Hostile(
        form(redirect_uri=LOOPBACK), 400, "invalid_grant"
    ),
    "redirect_uri percent-encoded": Hostile(
        form(redirect_uri=REDIRECT.replace("/cb", "/%63b")), 400, "invalid_grant"
    ),
    "missing redirect_uri": Hostile(form(redirect_uri=None), 400, "invalid_request"),
    "code of another client": Hostile(
        lambda world, code: {"data": code.form(client_id=world.other_public_id)},
        400,
        "invalid_grant",
    ),
    "unknown client": Hostile(form(client_id="cli_unknown"), 401, "invalid_client"),
    "no client at all": Hostile(form(client_id=None), 401, "invalid_client"),
    "public client sends a secret": Hostile(form(client_secret="cs_guess"), 401, "invalid_client"),
    "public client uses Basic with a password": Hostile(
        lambda world, code: {
            "data": code.form(),
            "headers": {"Authorization": basic(code.client_id, "cs_guess")},
        },
        401,
        "invalid_client",
        basic_challenge=True,
    ),
    "confidential client, Basic with an empty password": Hostile(
        lambda world, code: {
            "data": code.form(),
            "headers": {"Authorization": basic(code.client_id, "")},
        },
        401,
        "invalid_client",
        confidential=True,
        basic_challenge=True,
    ),
    "Bearer instead of client authentication": Hostile(
        lambda world, code: {"data": code.form(), "headers": {"Authorization": "Bearer abc"}},
        401,
        "invalid_client",
    ),
    "repeated code": Hostile(
        raw(lambda code: encoded(code) + "&code=" + code.code), 400, "invalid_request"
    ),
    "repeated client_id": Hostile(
        raw(lambda code: encoded(code) + "&client_id=" + code.client_id), 400, "invalid_request"
    ),
    "repeated empty parameter": Hostile(
        raw(lambda code: encoded(code) + "&scope=&scope="), 400, "invalid_request"
    ),
    "form body that is not a form": Hostile(
        raw(lambda code: encoded(code) + "&novalue"), 400, "invalid_request"
    ),
    "invalid UTF-8 in the form": Hostile(
        raw(lambda code: encoded(code) + "&state=%ff"), 400, "invalid_request"
    ),
    "text/plain body": Hostile(raw(encoded, "text/plain"), 400, "invalid_request"),
    "no content type": Hostile(raw(encoded, ""), 400, "invalid_request"),
    "parameters in the URL": Hostile(
        lambda world, code: {"data": code.form(), "params": {"code": code.code}},
        400,
        "invalid_request",
    ),
    "JSON with a repeated key": Hostile(
        raw(lambda code: json.dumps(code.form())[:-1] + ', "code": "x"}', "application/json"),
        400,
        "invalid_request",
    ),
    "JSON with a number": Hostile(
        lambda world, code: {"json": {**code.form(), "code": 7}}, 400, "invalid_request"
    ),
    "JSON array of pairs": Hostile(
        lambda world, code: {"json": [list(item) for item in code.form().items()]},
        400,
        "invalid_request",
    ),
    "JSON that does not parse": Hostile(
        raw(lambda code: "{", "application/json"), 400, "invalid_request"
    ),
    "missing grant_type": Hostile(form(grant_type=None), 400, "invalid_request"),
    "password grant": Hostile(form(grant_type="password"), 400, "unsupported_grant_type"),
    "device code grant of a client that did not register it": Hostile(
        form(grant_type="urn:ietf:params:oauth:grant-type:device_code"),
        400,
        "unauthorized_client",
    ),
    "extension grant type": Hostile(
        form(grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer"),
        400,
        "unsupported_grant_type",
    ),
    "unknown resource": Hostile(form(resource="https://evil.example/api"), 400, "invalid_target"),
    "confidential client without its secret": Hostile(
        form(), 401, "invalid_client", confidential=True
    ),
    "confidential client, wrong secret in the body": Hostile(
        form(client_secret="cs_wrong"), 401, "invalid_client", confidential=True
    ),
    "confidential client, wrong secret in Basic": Hostile(
        lambda world, code: {
            "data": code.form(),
            "headers": {"Authorization": basic(code.client_id, "cs_wrong")},
        },
        401,
        "invalid_client",
        confidential=True,
        basic_challenge=True,
    ),
    "confidential client, malformed Basic": Hostile(
        lambda world, code: {"data": code.form(), "headers": {"Authorization": "Basic %%%"}},
        401,
        "invalid_client",
        confidential=True,
        basic_challenge=True,
    ),
    "two authentication methods": Hostile(
        lambda world, code: {
            "data": code.form(client_secret=world.confidential_secret),
            "headers": {"Authorization": basic(code.client_id, world.confidential_secret)},
        },
        400,
        "invalid_request",
        confidential=True,
    ),
    "Basic for one client, client_id of another": Hostile(
        lambda world, code: {
            "data": code.form(client_id=world.public_id),
            "headers": {"Authorization": basic(code.client_id, world.confidential_secret)},
        },
        400,
        "invalid_request",
        confidential=True,
    ),
}


def _challenge(code: Code) -> str:
    from i18n_connect.oauth.pkce import s256_challenge

    return s256_challenge(code.verifier)


@pytest.mark.parametrize("case", list(HOSTILE.values()), ids=list(HOSTILE))
async def test_hostile_request_is_refused_and_burns_nothing(
    world: TokenWorld, case: Hostile
) -> None:
    client_id = world.confidential_id if case.confidential else world.public_id
    code = await world.code(client_id=client_id)

    response = await world.http.post(TOKEN, **case.build(world, code))

    assert response.status_code == case.status, response.text
    assert response.json()["error"] == case.error
    assert response.headers["cache-control"] == "no-store"
    if case.basic_challenge:
        assert response.headers["www-authenticate"].startswith("Basic realm=")
    else:
        assert "www-authenticate" not in response.headers
    assert not await consumed(world, code)
    assert await world.count(refresh_tokens) == 0
    assert await world.count(grants_table, grants_table.c.revoked_at.is_not(None)) == 0
    # the code still works for its rightful owner
    proper: dict[str, str] = {}
    if case.confidential:
        proper["client_secret"] = world.confidential_secret
    assert (await world.post(code.form(**proper))).status_code == 200


async def test_expired_code_is_refused_and_stays_unconsumed(
    world: TokenWorld, clock: FrozenClock
) -> None:
    code = await world.code()
    clock.advance(minutes=10)

    response = await world.post(code.form())

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not await consumed(world, code)
    assert await world.count(refresh_tokens) == 0


async def test_code_still_valid_just_before_ten_minutes(
    world: TokenWorld, clock: FrozenClock
) -> None:
    code = await world.code()
    clock.advance(minutes=9, seconds=59)
    assert (await world.post(code.form())).status_code == 200


async def test_replayed_code_fails_and_revokes_everything_issued_from_it(
    world: TokenWorld,
) -> None:
    code = await world.code(organizations=[world.acme, world.globex])
    first = await world.tokens(code)

    replay = await world.post(code.form())

    assert replay.status_code == 400
    assert replay.json()["error"] == "invalid_grant"
    assert await world.count(refresh_tokens) == 0
    assert await world.count(grants_table, grants_table.c.revoked_at.is_not(None)) == 2
    for entry in first["grants"]:
        refreshed = await world.refresh(entry["refresh_token"])
        assert refreshed.status_code == 400
        assert refreshed.json()["error"] == "invalid_grant"
    events = await world.count(audit_events, audit_events.c.action == "token.code_replay")
    assert events == 1


@pytest.mark.parametrize(
    "replay",
    [
        pytest.param({"code_verifier": verifier(9)}, id="wrong verifier"),
        pytest.param({"client_id": "cli_unknown"}, id="unknown client"),
        pytest.param({"client_secret": "cs_guess"}, id="public client with a secret"),
    ],
)
async def test_replay_that_fails_pkce_or_client_authentication_revokes_nothing(
    world: TokenWorld, replay: dict[str, str]
) -> None:
    code = await world.code()
    first = await world.tokens(code)

    response = await world.post(code.form(**replay))

    assert response.status_code in {400, 401}
    assert response.json()["error"] in {"invalid_grant", "invalid_client"}
    assert await world.count(grants_table, grants_table.c.revoked_at.is_not(None)) == 0
    assert await world.count(audit_events, audit_events.c.action == "token.code_replay") == 0
    assert (await world.refresh(first["refresh_token"])).status_code == 200


async def test_replay_by_another_client_revokes_nothing(world: TokenWorld) -> None:
    code = await world.code()
    first = await world.tokens(code)

    response = await world.post(code.form(client_id=world.other_public_id))

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert await world.count(grants_table, grants_table.c.revoked_at.is_not(None)) == 0
    assert (await world.refresh(first["refresh_token"])).status_code == 200


async def test_grant_revoked_before_the_exchange_makes_the_code_useless(
    world: TokenWorld,
) -> None:
    code = await world.code()
    async with world.services.db.transaction() as conn:
        await grants.revoke_grant(
            conn, code.grant_ids[0], actor="usr_alice", now=world.services.clock.now(), reason="t"
        )

    response = await world.post(code.form())

    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"
    assert not await consumed(world, code)
    assert await world.count(refresh_tokens) == 0


async def test_loopback_code_must_be_redeemed_with_the_exact_port_used(
    world: TokenWorld,
) -> None:
    code = await world.code(redirect_uri="http://127.0.0.1:53123/cb")

    other_port = await world.post(code.form(redirect_uri="http://127.0.0.1:53124/cb"))
    assert other_port.status_code == 400
    assert other_port.json()["error"] == "invalid_grant"

    assert (await world.post(code.form())).status_code == 200


async def test_code_bound_to_the_mcp_resource_gives_an_mcp_audience(world: TokenWorld) -> None:
    settings = world.services.settings
    code = await world.code(resource=settings.mcp_resource)

    mismatch = await world.post(code.form(resource=settings.api_resource))
    assert mismatch.status_code == 400
    assert mismatch.json()["error"] == "invalid_target"
    assert not await consumed(world, code)

    body = await world.tokens(code)
    claims = await world.services.tokens.verify(
        body["access_token"], audience=settings.mcp_resource
    )
    assert claims.aud == settings.mcp_resource
    refreshed = await world.refresh(body["refresh_token"])
    assert refreshed.status_code == 200
    await world.services.tokens.verify(
        refreshed.json()["access_token"], audience=settings.mcp_resource
    )


async def test_resource_asked_only_at_the_token_endpoint_sets_the_audience(
    world: TokenWorld,
) -> None:
    settings = world.services.settings
    code = await world.code()
    body = await world.tokens(code, resource=settings.mcp_resource)
    claims = await world.services.tokens.verify(
        body["access_token"], audience=settings.mcp_resource
    )
    assert claims.aud == settings.mcp_resource


async def test_a_second_device_gets_its_own_chain_and_the_first_keeps_working(
    world: TokenWorld,
) -> None:
    first = await world.tokens(await world.code())
    second = await world.tokens(await world.code(code_verifier=verifier(2)))  # same client

    assert first["grant_id"] == second["grant_id"]
    assert (await world.refresh(first["refresh_token"])).status_code == 200
    assert (await world.refresh(second["refresh_token"])).status_code == 200
    chains = await world.count(
        refresh_chains,
        refresh_chains.c.grant_id == first["grant_id"],
        refresh_chains.c.revoked_at.is_(None),
    )
    assert chains == 2
