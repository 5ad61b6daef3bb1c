"""``Idempotency-Key`` on the partner API's writes: a retry answers the first answer and writes
nothing, another request with the key is 422, a running one 409, concurrent copies write once,
each grant has its own keys, keys last 24 hours, bad keys are 400, failures are not kept, and
minting installation tokens is left out."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from api_world import World
from sqlalchemy import func, select, text

from i18n_connect import installations
from i18n_connect.api.auth import installation_write_caller
from i18n_connect.api.idempotency import KEY_LIFETIME, STALE_CLAIM, request_hash
from i18n_connect.client import ConnectClient, IdempotencyKeyReused
from i18n_connect.clock import FrozenClock
from i18n_connect.platform import keys
from i18n_connect.storage import idempotency_keys
from i18n_connect.storage.tables import translation_keys

KEY = "4f1c2b8e-9d3a-4e57-8a61-0c9b7e2d5f10"


def _keys_url(world: World, project: str = "acme/web") -> str:
    return f"/api/oauth-client/v1/projects/{world.projects[project]}/keys"


async def _create(
    world: World,
    token: str,
    names: list[str],
    *,
    key: str | None = KEY,
    project: str = "acme/web",
    http: httpx.AsyncClient | None = None,
) -> httpx.Response:
    headers = {"x-api-key": token}
    if key is not None:
        headers["Idempotency-Key"] = key
    body = {"keys": [{"name": name} for name in names]}
    return await (http or world.http).post(_keys_url(world, project), json=body, headers=headers)


async def _key_count(world: World, project: str = "acme/web") -> int:
    async with world.services.db.transaction(readonly=True) as conn:
        count = await conn.scalar(
            select(func.count())
            .select_from(translation_keys)
            .where(translation_keys.c.project_id == world.projects[project])
        )
    return int(count or 0)


async def _record(world: World, caller: str | None = None, key: str = KEY) -> Any:
    """The kept record of ``key`` (of ``caller``, or of the one caller that used it)."""
    async with world.services.db.transaction(readonly=True) as conn:
        if caller is None:
            callers = list(
                await conn.scalars(
                    text("SELECT caller FROM idempotency_keys WHERE key = :k"), {"k": key}
                )
            )
            assert len(callers) <= 1
            if not callers:
                return None
            caller = callers[0]
        return await idempotency_keys.find(conn, caller=caller, key=key)


async def _caller(world: World, token: str) -> str:
    async with world.services.db.transaction(readonly=True) as conn:
        context = await installations.authenticate(
            conn, token, now=world.services.clock.now(), hasher=world.services.hasher
        )
    return installation_write_caller(context)


async def test_a_retry_answers_the_first_answer_and_writes_nothing(world: World) -> None:
    token = await world.mint()
    before = await _key_count(world)
    first = await _create(world, token, ["checkout.title"])
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    second = await _create(world, token, ["checkout.title"])
    assert second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.content == first.content
    assert second.headers["content-type"] == first.headers["content-type"]
    assert await _key_count(world) == before + 1
    # a token minted later for the same grant is the same caller
    again = await _create(world, await world.mint(), ["checkout.title"])
    assert (again.status_code, again.content) == (201, first.content)
    assert again.headers["idempotent-replayed"] == "true"
    # without the key the same request runs: the key exists now
    plain = await _create(world, token, ["checkout.title"], key=None)
    assert (plain.status_code, plain.json()["error"]) == (409, "conflict")


async def test_the_kept_answer_is_encrypted_and_bound_to_the_request(world: World) -> None:
    token = await world.mint()
    first = await _create(world, token, ["secret.looking.name"])
    assert first.status_code == 201
    record = await _record(world, await _caller(world, token))
    assert record is not None and record.status == 201 and record.body is not None
    assert b"secret.looking.name" not in record.body
    assert record.headers == {"content-type": "application/json"}
    async with world.services.db.transaction(readonly=True) as conn:
        (raw,) = (await conn.execute(text("SELECT body FROM idempotency_keys"))).one()
    assert b"secret.looking.name" not in bytes(raw)
    assert token.encode() not in bytes(raw)


async def test_the_same_key_with_another_request_is_422_and_writes_nothing(world: World) -> None:
    token = await world.mint()
    assert (await _create(world, token, ["a.one"])).status_code == 201
    before = await _key_count(world)
    other_body = await _create(world, token, ["a.two"])
    assert other_body.status_code == 422
    assert other_body.json()["error"] == "idempotency_key_reused"
    assert "idempotent-replayed" not in other_body.headers
    other_path = await world.http.put(
        f"/api/oauth-client/v1/projects/{world.projects['acme/web']}/translations/de",
        json={"translations": {"a.one": "Eins"}},
        headers={"x-api-key": token, "Idempotency-Key": KEY},
    )
    assert (other_path.status_code, other_path.json()["error"]) == (422, "idempotency_key_reused")
    other_query = await world.http.post(
        _keys_url(world) + "?x=1",
        json={"keys": [{"name": "a.one"}]},
        headers={"x-api-key": token, "Idempotency-Key": KEY},
    )
    assert other_query.status_code == 422
    assert await _key_count(world) == before
    async with world.services.db.transaction(readonly=True) as conn:
        found = await keys.list_keys(conn, world.projects["acme/web"], prefix="a.")
    assert [key.name for key in found] == ["a.one"]


async def test_concurrent_identical_requests_write_once(world: World) -> None:
    token = await world.mint()
    before = await _key_count(world)
    answers = await asyncio.gather(*(_create(world, token, ["race.key"]) for _ in range(6)))
    ran = [a for a in answers if a.status_code == 201 and "idempotent-replayed" not in a.headers]
    assert len(ran) == 1
    for answer in answers:
        if answer.status_code == 201:
            assert answer.content == ran[0].content
        else:
            assert answer.status_code == 409, answer.text
            assert answer.json()["error"] == "idempotency_key_in_flight"
            assert answer.headers["retry-after"] == "1"
    assert await _key_count(world) == before + 1
    settled = await _create(world, token, ["race.key"])
    assert (settled.status_code, settled.headers["idempotent-replayed"]) == (201, "true")


async def test_a_running_request_holds_its_key_until_its_claim_goes_stale(
    world: World, clock: FrozenClock
) -> None:
    token = await world.mint()
    body = httpx.Request("POST", "http://x", json={"keys": [{"name": "held.key"}]}).content
    now = clock.now()
    async with world.services.db.transaction() as conn:  # a request whose process then died
        taken = await idempotency_keys.claim(
            conn,
            caller=await _caller(world, token),
            key=KEY,
            request_hash=request_hash("POST", _keys_url(world), b"", [body]),
            now=now,
            expires_at=now + KEY_LIFETIME,
            stale_before=now - STALE_CLAIM,
        )
    assert taken is None
    other = await _create(world, token, ["other.key"])  # another request: 422 before 409
    assert (other.status_code, other.json()["error"]) == (422, "idempotency_key_reused")
    running = await _create(world, token, ["held.key"])
    assert (running.status_code, running.json()["error"]) == (409, "idempotency_key_in_flight")
    clock.advance(seconds=59)
    assert (await _create(world, token, ["held.key"])).status_code == 409
    clock.advance(seconds=2)
    taken_over = await _create(world, token, ["held.key"])
    assert taken_over.status_code == 201
    assert "idempotent-replayed" not in taken_over.headers
    assert [key["name"] for key in taken_over.json()["keys"]] == ["held.key"]
    replay = await _create(world, token, ["held.key"])
    assert (replay.content, replay.headers["idempotent-replayed"]) == (taken_over.content, "true")


async def test_each_grant_has_its_own_keys(world: World) -> None:
    acme = await world.mint("acme")
    globex = await world.mint("globex")
    first = await _create(world, acme, ["shared.key"])
    assert first.status_code == 201
    assert (await _create(world, acme, ["second.key"], key="k2")).status_code == 201
    # the same key from another grant on its own project runs
    theirs = await _create(world, globex, ["shared.key"], project="globex/web")
    assert theirs.status_code == 201
    assert "idempotent-replayed" not in theirs.headers
    assert await _key_count(world, "globex/web") == 1
    # and on acme's project it is refused by the route, never answered from acme's record
    hostile = await _create(world, globex, ["second.key"], key="k2")
    assert hostile.status_code == 403
    assert "idempotent-replayed" not in hostile.headers
    assert "second.key" not in hostile.text


async def test_a_narrower_token_of_the_grant_never_gets_a_wider_tokens_answer(
    world: World,
) -> None:
    wide = await world.mint()
    first = await _create(world, wide, ["wide.key"])
    assert first.status_code == 201
    assert (await _caller(world, await world.mint())) == await _caller(world, wide)
    narrow = await world.mint(project_ids=[world.projects["acme/mobile"]])
    assert await _caller(world, narrow) != await _caller(world, wide)
    refused = await _create(world, narrow, ["wide.key"])  # the same key and request
    assert (refused.status_code, refused.json()["error"]) == (403, "wrong_project")
    assert "idempotent-replayed" not in refused.headers
    read_only = await world.mint(scopes=["keys:read"])
    assert (await _create(world, read_only, ["wide.key"])).json()["error"] == "missing_scope"


async def test_a_revoked_grant_gets_410_not_the_kept_answer(world: World) -> None:
    token = await world.mint()
    assert (await _create(world, token, ["revoked.key"])).status_code == 201
    access = await world.access_token()
    revoked = await world.http.delete(
        f"/api/oauth-client/installations/{world.grants['acme']}",
        headers={"Authorization": f"Bearer {access}"},
    )
    assert revoked.status_code == 204
    again = await _create(world, token, ["revoked.key"])
    assert (again.status_code, again.json()["error"]) == (410, "grant_revoked")
    assert "idempotent-replayed" not in again.headers


async def test_a_key_lasts_24_hours(world: World, clock: FrozenClock) -> None:
    token = await world.mint()
    assert (await _create(world, token, ["day.key"])).status_code == 201
    clock.advance(hours=23, minutes=59)
    replay = await _create(world, await world.mint(), ["day.key"])
    assert (replay.status_code, replay.headers.get("idempotent-replayed")) == (201, "true")
    clock.advance(minutes=1)
    again = await _create(world, await world.mint(), ["day.key"])
    assert (again.status_code, again.json()["error"]) == (409, "conflict")  # it ran again
    assert "idempotent-replayed" not in again.headers
    assert (await _create(world, await world.mint(), ["day.key"])).headers.get(
        "idempotent-replayed"
    ) == "true"  # and its answer is the one kept now


@pytest.mark.parametrize(
    "value",
    ["", "   ", "x" * 256, "caf\u00e9", "tab\tkey", '""'],
    ids=["empty", "blank", "too-long", "non-ascii", "control", "empty-sf-string"],
)
async def test_a_bad_key_is_400_and_runs_nothing(world: World, value: str) -> None:
    token = await world.mint()
    before = await _key_count(world)
    response = await world.http.post(
        _keys_url(world),
        json={"keys": [{"name": "bad.key"}]},
        headers=[("x-api-key", token), ("Idempotency-Key", value.encode("latin-1"))],
    )
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_request"
    assert "Idempotency-Key" in response.json()["error_description"]
    assert await _key_count(world) == before


async def test_two_key_headers_are_400(world: World) -> None:
    token = await world.mint()
    response = await world.http.post(
        _keys_url(world),
        json={"keys": [{"name": "bad.key"}]},
        headers=[("x-api-key", token), ("Idempotency-Key", "a"), ("Idempotency-Key", "b")],
    )
    assert (response.status_code, response.json()["error"]) == (400, "invalid_request")


async def test_a_255_character_key_and_the_structured_field_form_work(world: World) -> None:
    token = await world.mint()
    long_key = "k" * 255
    assert (await _create(world, token, ["long.key"], key=long_key)).status_code == 201
    quoted = await _create(world, token, ["long.key"], key=f'"{long_key}"')
    assert (quoted.status_code, quoted.headers["idempotent-replayed"]) == (201, "true")


async def test_a_server_error_is_not_kept_so_a_retry_runs(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = await world.mint()
    app = world.http.app  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    real = keys.create_keys

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the disk is on fire")

    monkeypatch.setattr(keys, "create_keys", broken)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
        failed = await _create(world, token, ["fire.key"], http=http)
    assert failed.status_code == 500
    assert await _record(world) is None
    monkeypatch.setattr(keys, "create_keys", real)
    retried = await _create(world, token, ["fire.key"])
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers


async def test_a_client_error_is_kept_and_replayed(world: World) -> None:
    token = await world.mint(scopes=["keys:read"])
    refused = await _create(world, token, ["scoped.key"])
    assert (refused.status_code, refused.json()["error"]) == (403, "missing_scope")
    again = await _create(world, token, ["scoped.key"])
    assert (again.status_code, again.content) == (403, refused.content)
    assert again.headers["idempotent-replayed"] == "true"


async def test_an_unauthenticated_write_is_not_kept(world: World) -> None:
    response = await _create(world, "bi_oat_" + "x" * 43, ["nobody.key"])
    assert response.status_code == 401
    async with world.services.db.transaction(readonly=True) as conn:
        count = await conn.scalar(text("SELECT count(*) FROM idempotency_keys"))
    assert count == 0


async def test_writes_without_the_header_and_reads_keep_nothing(world: World) -> None:
    token = await world.mint()
    assert (await _create(world, token, ["plain.key"], key=None)).status_code == 201
    read = await world.http.get(
        _keys_url(world), headers={"x-api-key": token, "Idempotency-Key": ""}
    )
    assert read.status_code == 200  # a read ignores the header, even a bad one
    async with world.services.db.transaction(readonly=True) as conn:
        count = await conn.scalar(text("SELECT count(*) FROM idempotency_keys"))
    assert count == 0


async def test_minting_ignores_the_key_and_keeps_no_token(world: World) -> None:
    access = await world.access_token()
    url = f"/api/oauth-client/installations/{world.grants['acme']}/tokens"
    headers = {"Authorization": f"Bearer {access}", "Idempotency-Key": KEY}
    first = await world.http.post(url, json={}, headers=headers)
    second = await world.http.post(url, json={}, headers=headers)
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["installation_token"] != second.json()["installation_token"]
    assert "idempotent-replayed" not in second.headers
    async with world.services.db.transaction(readonly=True) as conn:
        count = await conn.scalar(text("SELECT count(*) FROM idempotency_keys"))
    assert count == 0


async def test_revoking_with_the_access_token_is_keyed_by_the_grant(world: World) -> None:
    access = await world.access_token(("acme", "globex"))
    headers = {"Authorization": f"Bearer {access}", "Idempotency-Key": KEY}
    url = f"/api/oauth-client/installations/{world.grants['globex']}"
    first = await world.http.delete(url, headers=headers)
    assert first.status_code == 204
    second = await world.http.delete(url, headers=headers)
    assert (second.status_code, second.headers["idempotent-replayed"]) == (204, "true")
    assert second.content == b""
    assert await _record(world, f"grant:{world.grants['globex']}") is not None


async def test_an_import_is_replayed_not_run_again(world: World) -> None:
    token = await world.mint()
    url = f"/api/oauth-client/v1/projects/{world.projects['acme/web']}/import"
    params = {"language": "de", "format": "json"}
    headers = {"x-api-key": token, "Idempotency-Key": KEY}
    body = b'{"import.one": "Eins", "home.title": "Start"}'
    first = await world.http.post(url, params=params, content=body, headers=headers)
    assert first.status_code == 200, first.text
    second = await world.http.post(url, params=params, content=body, headers=headers)
    assert (second.status_code, second.content) == (200, first.content)
    assert second.headers["idempotent-replayed"] == "true"
    changed = await world.http.post(url, params=params, content=body + b" ", headers=headers)
    assert (changed.status_code, changed.json()["error"]) == (422, "idempotency_key_reused")


async def test_openapi_documents_the_header_on_writes_only(world: World) -> None:
    schema = (await world.http.get("/openapi.json")).json()
    documented: list[tuple[str, str]] = []
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            names = [p["name"] for p in operation.get("parameters", [])]
            if "Idempotency-Key" in names:
                documented.append((method, path))
                assert {"409", "422"} <= set(operation["responses"]), (method, path)
            elif path.startswith("/api/oauth-client/") and method in ("post", "put", "patch"):
                assert path.endswith("/tokens"), (method, path)  # only mint is left out
    assert all(method != "get" for method, _ in documented)
    assert ("post", "/api/oauth-client/v1/projects/{project_id}/keys") in documented
    assert ("delete", "/api/oauth-client/webhooks/endpoints/{endpoint_id}") in documented
    assert ("post", "/api/oauth-client/installations/{grant_id}/tokens") not in documented
    parameter = next(
        p
        for p in schema["paths"]["/api/oauth-client/v1/projects/{project_id}/keys"]["post"][
            "parameters"
        ]
        if p["name"] == "Idempotency-Key"
    )
    assert parameter["in"] == "header" and parameter["schema"]["maxLength"] == 255


async def test_the_sdk_sends_the_key_and_a_repeat_is_answered_not_written(world: World) -> None:
    token = await world.mint()
    project_id = world.projects["acme/web"]
    before = await _key_count(world)
    async with ConnectClient("http://testserver", "cid", http=world.http) as client:
        api = client.partner_api(token)
        first = await api.create_keys(project_id, [{"name": "sdk.key"}], idempotency_key=KEY)
        second = await api.create_keys(project_id, [{"name": "sdk.key"}], idempotency_key=KEY)
        with pytest.raises(IdempotencyKeyReused):
            await api.create_keys(project_id, [{"name": "sdk.other"}], idempotency_key=KEY)
    assert first == second
    assert [key["name"] for key in first] == ["sdk.key"]
    assert await _key_count(world) == before + 1


async def test_a_kept_answer_that_cannot_be_read_is_forgotten_and_the_request_runs(
    world: World, clock: FrozenClock
) -> None:
    token = await world.mint()
    body = httpx.Request("POST", "http://x", json={"keys": [{"name": "sealed.key"}]}).content
    caller, now = await _caller(world, token), clock.now()
    async with world.services.db.transaction() as conn:  # kept under another server secret
        await idempotency_keys.claim(
            conn,
            caller=caller,
            key=KEY,
            request_hash=request_hash("POST", _keys_url(world), b"", [body]),
            now=now,
            expires_at=now + KEY_LIFETIME,
            stale_before=now - STALE_CLAIM,
        )
        await idempotency_keys.complete(
            conn,
            caller=caller,
            key=KEY,
            claimed_at=now,
            status=201,
            headers={"content-type": "application/json"},
            body=b"\x00" * 40,
        )
    clock.advance(seconds=1)
    ran = await _create(world, token, ["sealed.key"])
    assert ran.status_code == 201
    assert "idempotent-replayed" not in ran.headers
    replay = await _create(world, token, ["sealed.key"])
    assert (replay.content, replay.headers["idempotent-replayed"]) == (ran.content, "true")
