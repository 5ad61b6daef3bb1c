"""The MCP server at /mcp: who may call it, the challenges it answers with, and the tools
over real platform data with installation tokens and access tokens."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from mcp_helpers import ALL_TOOL_SCOPES, World, call_tool, rpc, seeded_world
from sqlalchemy import select

from i18n_connect import grants
from i18n_connect.clock import FrozenClock
from i18n_connect.mcp import TOOL_SCOPES
from i18n_connect.storage.oauth_tables import grants as grants_table
from i18n_connect.storage.tables import translation_keys, translations

RESOURCE_METADATA = 'resource_metadata="http://testserver/.well-known/oauth-protected-resource/mcp"'
FIRST_SCOPES = (
    "projects:read keys:read keys:write translations:read translations:write "
    "content:read content:write glossary:read"
)


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def compact(header: dict[str, Any], payload: dict[str, Any], signature: bytes) -> str:
    return (
        f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"
    )


def es256(header: dict[str, Any], payload: dict[str, Any], key: ec.EllipticCurvePrivateKey) -> str:
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    r, s = decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
    return f"{signing_input}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}"


def claims(world: World, **changes: Any) -> dict[str, Any]:
    now = int(world.services.clock.now().timestamp())
    base = {
        "iss": "http://testserver",
        "sub": world.user_id,
        "aud": world.services.settings.mcp_resource,
        "client_id": world.client_id,
        "scope": " ".join(ALL_TOOL_SCOPES),
        "iat": now,
        "exp": now + 1800,
        "jti": "atk_forged",
        "grant_ids": [world.grants["acme"]],
    }
    base.update(changes)
    return base


async def our_key(world: World) -> Any:
    return await world.services.keys.signing_key()


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.json()["error"] == "invalid_token"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert RESOURCE_METADATA in challenge
    assert f'scope="{FIRST_SCOPES}"' in challenge


async def key_names(world: World, org: str = "acme") -> list[str]:
    async with world.services.db.transaction(readonly=True) as conn:
        rows = await conn.scalars(
            select(translation_keys.c.name)
            .where(translation_keys.c.project_id == world.projects[org])
            .order_by(translation_keys.c.name)
        )
        return list(rows)


# --- authentication and challenges ---------------------------------------------------------


async def test_no_token_gets_discovery_challenge_without_error_code(
    running_app: httpx.AsyncClient,
) -> None:
    response = await rpc(running_app, "tools/list")
    assert response.status_code == 401
    challenge = response.headers["www-authenticate"]
    assert challenge == f'Bearer {RESOURCE_METADATA}, scope="{FIRST_SCOPES}"'
    assert "error=" not in challenge
    assert response.headers["cache-control"] == "no-store"


async def test_challenge_points_at_metadata_that_names_this_issuer(
    running_app: httpx.AsyncClient,
) -> None:
    response = await rpc(running_app, "tools/list")
    url = response.headers["www-authenticate"].split('resource_metadata="')[1].split('"')[0]
    prm = (await running_app.get(url.removeprefix("http://testserver"))).json()
    assert prm["resource"] == "http://testserver/mcp"
    asm = (await running_app.get("/.well-known/oauth-authorization-server")).json()
    assert prm["authorization_servers"] == [asm["issuer"]]


async def test_token_in_query_string_is_refused(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.access_token()
    response = await rpc(running_app, "tools/list", url=f"/mcp?access_token={token}")
    assert_unauthorized(response)
    both = await rpc(running_app, "tools/list", token=token, url=f"/mcp?access_token={token}")
    assert_unauthorized(both)


async def test_token_for_the_partner_api_is_refused(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.access_token(audience=world.services.settings.api_resource)
    assert_unauthorized(await rpc(running_app, "tools/list", token=token))


async def test_token_for_a_foreign_audience_is_refused(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.access_token(audience="https://elsewhere.example/mcp")
    assert_unauthorized(await rpc(running_app, "tools/list", token=token))


async def test_expired_access_token_is_refused(
    running_app: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    token = await world.access_token()
    clock.advance(minutes=31)
    assert_unauthorized(await rpc(running_app, "tools/list", token=token))


@pytest.mark.parametrize(
    "token",
    [
        pytest.param("garbage", id="garbage"),
        pytest.param("bi_oat_unknown", id="unknown-installation-token"),
        pytest.param("rt_looks_like_a_refresh_token", id="refresh-token"),
        pytest.param("a.b.c", id="three-garbage-parts"),
    ],
)
async def test_unknown_tokens_are_refused(
    running_app: httpx.AsyncClient, world: World, token: str
) -> None:
    assert_unauthorized(await rpc(running_app, "tools/list", token=token))


async def test_forged_alg_none_is_refused(running_app: httpx.AsyncClient, world: World) -> None:
    key = await our_key(world)
    token = compact({"alg": "none", "typ": "at+jwt", "kid": key.kid}, claims(world), b"")
    assert_unauthorized(await rpc(running_app, "tools/list", token=token))


async def test_forged_hs256_keyed_with_our_public_key_is_refused(
    running_app: httpx.AsyncClient, world: World
) -> None:
    jwks = (await running_app.get("/api/auth/mcp/jwks")).json()
    public = jwks["keys"][0]
    header = {"alg": "HS256", "typ": "at+jwt", "kid": public["kid"]}
    payload = claims(world)
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(payload).encode())}"
    for secret in (json.dumps(public).encode(), public["x"].encode()):
        signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
        token = f"{signing_input}.{b64(signature)}"
        assert_unauthorized(await rpc(running_app, "tools/list", token=token))


async def test_forged_embedded_jwk_header_is_refused(
    running_app: httpx.AsyncClient, world: World
) -> None:
    attacker = ec.generate_private_key(ec.SECP256R1())
    numbers = attacker.public_key().public_numbers()
    jwk = {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
    }
    kid = (await our_key(world)).kid
    for header in (
        {"alg": "ES256", "typ": "at+jwt", "kid": kid, "jwk": jwk},
        {"alg": "ES256", "typ": "at+jwt", "jwk": jwk},
        {"alg": "ES256", "typ": "at+jwt", "kid": kid},  # plain attacker signature
    ):
        token = es256(header, claims(world), attacker)
        assert_unauthorized(await rpc(running_app, "tools/list", token=token))


async def test_token_with_unknown_crit_is_refused_even_when_signed_by_us(
    running_app: httpx.AsyncClient, world: World
) -> None:
    key = await our_key(world)
    header = {"alg": "ES256", "typ": "at+jwt", "kid": key.kid, "crit": ["x-custom"], "x-custom": 1}
    token = es256(header, claims(world), key.private.private_key)
    assert_unauthorized(await rpc(running_app, "tools/list", token=token))
    # The same signature path with a clean header is accepted, so the refusal is the crit.
    clean = es256(
        {"alg": "ES256", "typ": "at+jwt", "kid": key.kid}, claims(world), key.private.private_key
    )
    assert (await rpc(running_app, "tools/list", token=clean)).status_code == 200


async def test_oversized_header_is_refused(running_app: httpx.AsyncClient, world: World) -> None:
    key = await our_key(world)
    header = {"alg": "ES256", "typ": "at+jwt", "kid": key.kid, "pad": "x" * 10_000}
    token = es256(header, claims(world), key.private.private_key)
    assert_unauthorized(await rpc(running_app, "tools/list", token=token))


async def test_tampered_payload_is_refused(running_app: httpx.AsyncClient, world: World) -> None:
    token = await world.access_token(scopes=["projects:read"])
    header, _, signature = token.split(".")
    payload = b64(json.dumps(claims(world)).encode())
    assert_unauthorized(
        await rpc(running_app, "tools/list", token=f"{header}.{payload}.{signature}")
    )


async def test_access_token_presented_by_another_client_identity_is_refused(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.access_token(client_id=world.other_client_id)
    assert_unauthorized(await rpc(running_app, "tools/list", token=token))


async def test_access_token_with_every_grant_revoked_is_refused(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.access_token()
    async with world.services.db.transaction() as conn:
        await grants.revoke_grant(
            conn, world.grants["acme"], actor="test", now=world.services.clock.now(), reason="test"
        )
    assert_unauthorized(await rpc(running_app, "tools/list", token=token))


async def test_installation_token_of_revoked_grant_answers_410(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.installation_token()
    async with world.services.db.transaction() as conn:
        await grants.revoke_grant(
            conn, world.grants["acme"], actor="test", now=world.services.clock.now(), reason="test"
        )
    response = await rpc(running_app, "tools/list", token=token)
    assert response.status_code == 410
    assert response.json()["error"] == "grant_revoked"


async def test_x_api_key_takes_installation_tokens_only(
    running_app: httpx.AsyncClient, world: World
) -> None:
    installation = await world.installation_token()
    ok = await rpc(running_app, "tools/list", headers={"x-api-key": installation})
    assert ok.status_code == 200
    access = await world.access_token()
    assert_unauthorized(await rpc(running_app, "tools/list", headers={"x-api-key": access}))


async def test_two_credentials_at_once_are_a_bad_request(
    running_app: httpx.AsyncClient, world: World
) -> None:
    installation = await world.installation_token()
    response = await rpc(
        running_app, "tools/list", token=installation, headers={"x-api-key": installation}
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


# --- tools ----------------------------------------------------------------------------------


async def test_tools_list_names_every_tool_with_its_scope(
    running_app: httpx.AsyncClient, world: World
) -> None:
    response = await rpc(running_app, "tools/list", token=await world.installation_token())
    tools = {tool["name"]: tool for tool in response.json()["result"]["tools"]}
    assert (
        set(tools)
        == set(TOOL_SCOPES)
        == {
            "listProjects",
            "getProject",
            "getTranslationContext",
            "listKeys",
            "createKeys",
            "deleteKeys",
            "updateKeys",
            "setTranslations",
            "getTranslations",
            "publishTranslations",
            "exportTranslations",
            "importTranslations",
            "listGlossaryTerms",
            "upsertGlossaryTerms",
            "deleteGlossaryTerms",
            "listContentModels",
            "listContentEntries",
            "getContentEntry",
            "updateContentEntry",
            "publishContentEntries",
        }
    )
    for name, scope in TOOL_SCOPES.items():
        assert f"[{scope}]" in tools[name]["description"], name


async def test_installation_token_works_through_the_whole_key_lifecycle(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.installation_token()
    listed = await call_tool(running_app, token, "listProjects")
    assert listed["structuredContent"]["projects"][0]["slug"] == "web"
    project = await call_tool(running_app, token, "getProject", project=world.projects["acme"])
    assert project["structuredContent"]["languages"] == ["en", "de"]
    context = await call_tool(running_app, token, "getTranslationContext", project="web")
    assert context["structuredContent"]["target_languages"] == ["de"]
    assert context["structuredContent"]["source_language"] == "en"

    created = await call_tool(
        running_app, token, "createKeys", project="web", keys=[{"name": "cart.total"}]
    )
    assert [key["name"] for key in created["structuredContent"]["keys"]] == ["cart.total"]
    assert await key_names(world) == ["cart.total", "home.title"]

    written = await call_tool(
        running_app,
        token,
        "setTranslations",
        project="web",
        language="de",
        translations={"cart.total": "Summe"},
    )
    assert written["structuredContent"] == {"language": "de", "written": 1}
    updated = await call_tool(
        running_app,
        token,
        "updateKeys",
        project="web",
        keys=[{"name": "cart.total", "description": "Cart sum", "translations": {"en": "Total"}}],
    )
    assert [key["name"] for key in updated["structuredContent"]["keys"]] == ["cart.total"]
    listed_keys = await call_tool(running_app, token, "listKeys", project="web", prefix="cart.")
    assert [(k["name"], k["description"]) for k in listed_keys["structuredContent"]["keys"]] == [
        ("cart.total", "Cart sum")
    ]
    got = await call_tool(running_app, token, "getTranslations", project="web", language="de")
    assert got["structuredContent"]["language"] == "de"
    assert {
        "key": "cart.total",
        "draft": "Summe",
        "published": None,
        "published_at": None,
        "updated_at": "2026-01-01T12:00:00Z",
    } in got["structuredContent"]["translations"]

    published = await call_tool(
        running_app, token, "publishTranslations", project="web", languages=["de"]
    )
    assert published["structuredContent"] == {"published": 2}
    async with world.services.db.transaction(readonly=True) as conn:
        live = set(
            await conn.scalars(
                select(translations.c.published)
                .join(translation_keys, translation_keys.c.id == translations.c.key_id)
                .where(
                    translations.c.language == "de",
                    translation_keys.c.project_id == world.projects["acme"],
                )
            )
        )
    assert live == {"Summe", "Start"}

    deleted = await call_tool(running_app, token, "deleteKeys", project="web", names=["cart.total"])
    assert deleted["structuredContent"] == {"deleted": ["cart.total"]}
    assert await key_names(world) == ["home.title"]


async def test_installation_token_without_scope_gets_tool_error_naming_it(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.installation_token(scopes=["projects:read", "keys:read"])
    result = await call_tool(
        running_app, token, "createKeys", project="web", keys=[{"name": "new.key"}]
    )
    assert result["isError"] is True
    assert json.loads(result["content"][0]["text"]) == {
        "error": "missing_scope",
        "error_description": "This route needs the scope keys:write.",
        "required": "keys:write",
    }
    assert "structuredContent" not in result
    assert await key_names(world) == ["home.title"]


async def test_access_token_without_scope_gets_step_up_challenge(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.access_token(scopes=["projects:read", "keys:read"])
    response = await rpc(
        running_app,
        "tools/call",
        {"name": "publishTranslations", "arguments": {"project": "web"}},
        token=token,
    )
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert response.json()["scope"] == "projects:read keys:read translations:publish"
    challenge = response.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert 'scope="projects:read keys:read translations:publish"' in challenge
    assert RESOURCE_METADATA in challenge
    async with world.services.db.transaction(readonly=True) as conn:
        assert set(await conn.scalars(select(translations.c.published))) == {None}


async def test_access_token_calls_tools_it_holds_scopes_for(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.access_token(scopes=["projects:read", "keys:read"])
    result = await call_tool(running_app, token, "listKeys", project="web")
    assert [key["name"] for key in result["structuredContent"]["keys"]] == ["home.title"]


async def test_access_token_over_two_organizations_needs_organization_argument(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.access_token(orgs=("acme", "globex"))
    ambiguous = await call_tool(
        running_app, token, "createKeys", project="web", keys=[{"name": "x.y"}]
    )
    assert ambiguous["isError"] is True
    assert "acme" in ambiguous["content"][0]["text"] and "globex" in ambiguous["content"][0]["text"]
    created = await call_tool(
        running_app,
        token,
        "createKeys",
        project="web",
        keys=[{"name": "x.y"}],
        organization="globex",
    )
    assert created["isError"] is False
    assert await key_names(world, "globex") == ["home.title", "x.y"]
    assert await key_names(world, "acme") == ["home.title"]
    by_id = await call_tool(
        running_app, token, "listKeys", project="web", organization=world.orgs["acme"]
    )
    assert [k["name"] for k in by_id["structuredContent"]["keys"]] == ["home.title"]


async def test_organization_outside_the_token_is_refused(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.access_token(orgs=("acme",))
    result = await call_tool(running_app, token, "listProjects", organization="globex")
    assert result["isError"] is True
    assert json.loads(result["content"][0]["text"]) == {
        "error": "wrong_organization",
        "error_description": "The token does not cover the organization 'globex'.",
    }


async def test_project_of_another_organization_is_wrong_organization_even_by_id(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.installation_token("acme")
    result = await call_tool(
        running_app, token, "deleteKeys", project=world.projects["globex"], names=["home.title"]
    )
    assert result["isError"] is True
    assert json.loads(result["content"][0]["text"]) == {  # the partner API's 403 body
        "error": "wrong_organization",
        "error_description": "The resource belongs to another organization.",
    }
    assert await key_names(world, "globex") == ["home.title"]


async def test_project_limited_installation_token_stays_in_its_projects(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.installation_token(project_ids=[await world.app_project()])
    refused = await call_tool(running_app, token, "listKeys", project="web")
    assert refused["isError"] is True
    assert json.loads(refused["content"][0]["text"])["error"] == "wrong_project"
    listed = await call_tool(running_app, token, "listProjects")
    assert [p["slug"] for p in listed["structuredContent"]["projects"]] == ["app"]


async def test_platform_errors_become_tool_errors(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.installation_token()
    result = await call_tool(
        running_app, token, "createKeys", project="web", keys=[{"name": "home.title"}]
    )
    assert result["isError"] is True
    assert json.loads(result["content"][0]["text"]) == {
        "error": "conflict",
        "error_description": "key(s) already exist: home.title",
    }


async def test_calls_are_rate_limited_per_token(app_with: Any, clock: FrozenClock) -> None:
    async with app_with(api_rate_per_minute=2) as client:
        world = await seeded_world(client)
        token = await world.access_token()
        statuses = [(await rpc(client, "tools/list", token=token)).status_code for _ in range(3)]
        assert statuses == [200, 200, 429]
        limited = await rpc(client, "tools/list", token=token)
        assert limited.json()["error"] == "rate_limited"
        assert int(limited.headers["retry-after"]) >= 1
        other = await world.access_token()  # another token has its own budget
        assert (await rpc(client, "tools/list", token=other)).status_code == 200
        clock.advance(minutes=1)
        assert (await rpc(client, "tools/list", token=token)).status_code == 200


async def test_an_installation_token_has_one_budget_for_rest_and_mcp(app_with: Any) -> None:
    async with app_with(api_rate_per_minute=2) as client:
        world = await seeded_world(client)
        token = await world.installation_token()
        headers = {"Authorization": f"Bearer {token}"}
        projects = f"/api/oauth-client/organizations/{world.orgs['acme']}/projects"
        first = await client.get(projects, headers=headers)
        assert first.status_code == 200
        assert (await rpc(client, "tools/list", token=token)).status_code == 200
        limited = await client.get(projects, headers=headers)
        assert limited.status_code == 429
        assert limited.json()["error"] == "rate_limited"
        assert (await rpc(client, "tools/list", token=token)).status_code == 429


async def test_rest_and_mcp_share_the_grant_budget(app_with: Any) -> None:
    async with app_with(api_grant_rate_per_minute=2) as client:
        world = await seeded_world(client)
        installation = await world.installation_token()
        projects = f"/api/oauth-client/organizations/{world.orgs['acme']}/projects"
        headers = {"Authorization": f"Bearer {installation}"}
        assert (await client.get(projects, headers=headers)).status_code == 200
        fresh = await world.access_token()  # another token of the same grant
        assert (await rpc(client, "tools/list", token=fresh)).status_code == 200
        limited = await rpc(client, "tools/list", token=await world.access_token())
        assert limited.status_code == 429
        assert limited.json()["budget"] == "grant"
        rest = await client.get(projects, headers=headers)
        assert (rest.status_code, rest.json()["budget"]) == (429, "grant")


async def test_an_access_token_over_two_grants_spends_both_grant_budgets(app_with: Any) -> None:
    async with app_with(api_grant_rate_per_minute=2) as client:
        world = await seeded_world(client)
        both = await world.access_token(orgs=("acme", "globex"))
        statuses = [(await rpc(client, "tools/list", token=both)).status_code for _ in range(2)]
        assert statuses == [200, 200]
        globex = await world.installation_token("globex")
        limited = await rpc(client, "tools/list", token=globex)
        assert (limited.status_code, limited.json()["budget"]) == (429, "grant")


async def test_mcp_calls_spend_the_client_budget(app_with: Any) -> None:
    async with app_with(api_client_rate_per_minute=2) as client:
        world = await seeded_world(client)
        acme, globex = await world.access_token(), await world.access_token(orgs=("globex",))
        assert (await rpc(client, "tools/list", token=acme)).status_code == 200
        assert (await rpc(client, "tools/list", token=globex)).status_code == 200
        limited = await rpc(client, "tools/list", token=await world.installation_token())
        assert limited.status_code == 429
        assert limited.json()["budget"] == "client"
        assert limited.json()["error_description"].startswith("Too many requests for this client")


async def test_calls_mark_the_grant_used(running_app: httpx.AsyncClient, world: World) -> None:
    token = await world.access_token()
    assert (await rpc(running_app, "tools/list", token=token)).status_code == 200
    async with world.services.db.transaction(readonly=True) as conn:
        used = await conn.scalar(
            select(grants_table.c.last_used_at).where(grants_table.c.id == world.grants["acme"])
        )
    assert used == world.services.clock.now()


@pytest.mark.parametrize("method", ["GET", "DELETE", "PUT"])
async def test_only_post_is_served(
    running_app: httpx.AsyncClient, world: World, method: str
) -> None:
    token = await world.installation_token()
    response = await running_app.request(
        method, "/mcp", headers={"authorization": f"Bearer {token}", "accept": "text/event-stream"}
    )
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


async def test_initialize_handshake_is_answered(
    running_app: httpx.AsyncClient, world: World
) -> None:
    response = await rpc(
        running_app,
        "initialize",
        {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "test", "version": "1"},
        },
        token=await world.access_token(),
    )
    assert response.status_code == 200
    result = response.json()["result"]
    assert result["serverInfo"]["name"] == "i18n-connect"
    assert "tools" in result["capabilities"]
    assert "mcp-session-id" not in response.headers  # stateless


async def test_malformed_json_rpc_is_refused_without_touching_data(
    running_app: httpx.AsyncClient, world: World
) -> None:
    response = await running_app.post(
        "/mcp",
        content=b"{not json",
        headers={
            "authorization": f"Bearer {await world.access_token()}",
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
        },
    )
    assert response.status_code == 400
    assert await key_names(world) == ["home.title"]


async def test_repeated_authorization_header_is_a_bad_request(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = await world.installation_token()
    response = await running_app.post(
        "/mcp",
        json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        headers=[
            ("authorization", f"Bearer {token}"),
            ("authorization", "Bearer garbage"),
            ("accept", "application/json, text/event-stream"),
        ],
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"


async def test_deeply_nested_body_is_a_parse_error(
    running_app: httpx.AsyncClient, world: World
) -> None:
    response = await running_app.post(
        "/mcp",
        content=b"[" * 5000 + b"]" * 5000,
        headers={
            "authorization": f"Bearer {await world.access_token()}",
            "accept": "application/json, text/event-stream",
            "content-type": "application/json",
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == -32700


async def test_deeply_nested_jwt_header_is_refused(
    running_app: httpx.AsyncClient, world: World
) -> None:
    token = b64(b"[" * 2900 + b"]" * 2900) + ".e30.c2ln"
    assert_unauthorized(await rpc(running_app, "tools/list", token=token))
