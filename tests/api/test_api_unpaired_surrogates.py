"""Text UTF-8 cannot hold (an unpaired surrogate, which JSON may escape: RFC 8259 §8.2) in a
partner-API write's JSON body: 400 ``invalid_request`` before anything runs, nothing stored;
a paired escape and an escaped backslash are plain text."""

from __future__ import annotations

import httpx
import pytest
from api_world import World
from sqlalchemy import func, select

from i18n_connect.storage.oauth_tables import oauth_clients
from i18n_connect.storage.tables import audit_events, translation_keys

REFUSED = {
    "error": "invalid_request",
    "error_description": (
        "The request body holds text that is not valid Unicode (an unpaired surrogate)."
    ),
}


def _keys_url(world: World) -> str:
    return f"/api/oauth-client/v1/projects/{world.projects['acme/web']}/keys"


async def _counts(world: World) -> tuple[int, int]:
    async with world.services.db.transaction(readonly=True) as conn:
        keys = (await conn.execute(select(func.count()).select_from(translation_keys))).scalar()
        events = (await conn.execute(select(func.count()).select_from(audit_events))).scalar()
    return int(keys or 0), int(events or 0)


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(b'{"keys":[{"name":"cart.x","description":"a\\ud800"}]}', id="escaped"),
        pytest.param(b'{"keys":[{"name":"cart.x","description":"\\udfff"}]}', id="low-half"),
        pytest.param(b'{"keys":[{"name":"cart.x","description":"\\ude00\\ud83d"}]}', id="swapped"),
        pytest.param(b'{"keys":[{"name":"cart.x","description":"\xed\xa0\x80"}]}', id="encoded"),
        pytest.param(b'{"keys":[{"name":"cart.x","\\ud800":1}]}', id="in-a-key"),
        pytest.param(
            '{"keys":[{"name":"cart.x","description":"\\ud800"}]}'.encode("utf-16"),
            id="utf-16",
        ),
    ],
)
async def test_a_write_with_an_unpaired_surrogate_is_refused_and_stores_nothing(
    world: World, content: bytes
) -> None:
    headers = {"x-api-key": await world.mint(), "Content-Type": "application/json"}
    before = await _counts(world)
    response = await world.http.post(_keys_url(world), content=content, headers=headers)
    assert (response.status_code, response.json()) == (400, REFUSED)
    assert await _counts(world) == before


async def test_the_body_is_refused_before_the_token_is_checked(world: World) -> None:
    headers = {"Content-Type": "application/json"}
    content = b'{"keys":[{"name":"cart.x","description":"\\ud800"}]}'
    response = await world.http.post(_keys_url(world), content=content, headers=headers)
    assert (response.status_code, response.json()) == (400, REFUSED)


async def test_with_an_idempotency_key_the_refusal_is_kept(world: World) -> None:
    """A 400 is an answer to the request (draft-ietf-httpapi-idempotency-key-header): kept."""
    headers = {
        "x-api-key": await world.mint(),
        "Content-Type": "application/json",
        "Idempotency-Key": "surrogate-1",
    }
    content = b'{"keys":[{"name":"cart.x","description":"\\ud800"}]}'
    first = await world.http.post(_keys_url(world), content=content, headers=headers)
    again = await world.http.post(_keys_url(world), content=content, headers=headers)
    assert (first.status_code, first.json()) == (again.status_code, again.json()) == (400, REFUSED)
    assert again.headers["Idempotent-Replayed"] == "true"


@pytest.mark.parametrize(
    ("content", "stored"),
    [
        pytest.param(b'"\\ud83d\\ude00"', "\U0001f600", id="paired-escape"),
        pytest.param(b'"\\\\ud800"', "\\ud800", id="escaped-backslash"),
        pytest.param(b'"\\\\\\ud83d\\ude00"', "\\\U0001f600", id="backslash-then-pair"),
        pytest.param('"\ud55c\U0001f600"'.encode(), "\ud55c\U0001f600", id="utf-8-hangul-emoji"),
    ],
)
async def test_paired_surrogates_and_escaped_backslashes_are_stored_as_sent(
    world: World, content: bytes, stored: str
) -> None:
    headers = {"x-api-key": await world.mint(), "Content-Type": "application/json"}
    body = b'{"keys":[{"name":"cart.x","description":' + content + b"}]}"
    created = await world.http.post(_keys_url(world), content=body, headers=headers)
    assert created.status_code == 201, created.text
    async with world.services.db.transaction(readonly=True) as conn:
        description = (
            await conn.execute(
                select(translation_keys.c.description).where(translation_keys.c.name == "cart.x")
            )
        ).scalar()
    assert description == stored


async def test_a_webhook_endpoint_write_is_refused_alike(
    world: World, api: httpx.AsyncClient
) -> None:
    """The publisher's webhook routes (client credentials) parse JSON through the same routers."""
    content = b'{"url":"https://hooks.example.com/\\ud800","event_types":["grant.created"]}'
    response = await api.post(
        "/api/oauth-client/webhooks/endpoints",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()) == (400, REFUSED)


async def _texts(world: World) -> dict[str, str]:
    async with world.services.db.transaction(readonly=True) as conn:
        rows = await conn.execute(select(translation_keys.c.name, translation_keys.c.description))
        return {name: description for name, description in rows}


def _import_url(world: World, fmt: str) -> str:
    base = f"/api/oauth-client/v1/projects/{world.projects['acme/web']}/import"
    return f"{base}?language=de&format={fmt}"


@pytest.mark.parametrize(
    ("fmt", "content", "line"),
    [
        pytest.param("json", b'{"home.title": "Neu\\ud800"}', None, id="json"),
        pytest.param("json-nested", b'{"home": {"\\udc00": "Neu"}}', None, id="json-key"),
        pytest.param(
            "arb",
            b'{"home.title": "Neu", "@home.title": {"description": "\\ud800"}}',
            None,
            id="arb-description",
        ),
        pytest.param("yaml", b'de:\n  home:\n    title: "Neu\\ud800"\n', 3, id="yaml"),
        pytest.param(
            "android",
            b'<resources>\n<string name="home.title">Neu\\uD800</string>\n</resources>\n',
            2,
            id="android",
        ),
        pytest.param("strings", b'"home.title" = "Neu\\UDC00";\n', 1, id="apple-strings"),
    ],
)
async def test_an_imported_file_with_an_unpaired_surrogate_is_malformed_and_writes_nothing(
    world: World, fmt: str, content: bytes, line: int | None
) -> None:
    token = await world.mint()
    before = await _counts(world)
    response = await world.http.post(
        _import_url(world, fmt), content=content, headers={"x-api-key": token}
    )
    expected: dict[str, object] = {
        "error": "malformed_file",
        "error_description": (
            "the file holds text that is not valid Unicode (an unpaired surrogate)"
        ),
    }
    if line is not None:
        expected["line"] = line
        expected["error_description"] = f"{expected['error_description']} (line {line})"
    assert (response.status_code, response.json()) == (422, expected)
    assert await _counts(world) == before


@pytest.mark.parametrize(
    ("fmt", "content"),
    [
        pytest.param("json", b'{"home.title": "\\ud83d\\ude00 \\\\ud800"}', id="json"),
        pytest.param(
            "android",
            b'<resources>\n<string name="home.title">\\uD83D\\uDE00 \\\\ud800</string>\n'
            b"</resources>\n",
            id="android-utf-16-pair",
        ),
        pytest.param("strings", b'"home.title" = "\\UD83D\\UDE00 \\\\ud800";\n', id="apple-pair"),
    ],
)
async def test_an_imported_pair_is_one_character(world: World, fmt: str, content: bytes) -> None:
    token = await world.mint()
    response = await world.http.post(
        _import_url(world, fmt), content=content, headers={"x-api-key": token}
    )
    assert response.status_code == 200, response.text
    base = f"/api/oauth-client/v1/projects/{world.projects['acme/web']}/translations/de"
    read = await world.http.get(base, headers={"x-api-key": token})
    drafts = {row["key"]: row["draft"] for row in read.json()["translations"]}
    assert drafts["home.title"] == "\U0001f600 \\ud800"


async def test_a_json_token_request_with_an_unpaired_surrogate_is_invalid_request(
    world: World,
) -> None:
    """The token endpoint (a hot route; introspection, revocation and device authorization
    parse their bodies alike) reads JSON bodies too."""
    content = b'{"grant_type":"refresh_token","refresh_token":"rt_x","client_id":"\\ud800"}'
    response = await world.http.post(
        "/api/auth/mcp/token",
        content=content,
        headers={"Content-Type": "application/json"},
    )
    assert (response.status_code, response.json()) == (400, REFUSED)


async def test_a_registration_with_an_unpaired_surrogate_is_invalid_client_metadata(
    world: World,
) -> None:
    content = (
        b'{"client_name":"Agent \\ud800","redirect_uris":["http://127.0.0.1:33418/cb"],'
        b'"token_endpoint_auth_method":"none"}'
    )
    before = await _counts(world)
    async with world.services.db.transaction(readonly=True) as conn:
        clients = await conn.scalar(select(func.count()).select_from(oauth_clients))
    response = await world.http.post(
        "/api/auth/mcp/register", content=content, headers={"Content-Type": "application/json"}
    )
    assert (response.status_code, response.json()) == (
        400,
        {**REFUSED, "error": "invalid_client_metadata"},
    )
    async with world.services.db.transaction(readonly=True) as conn:
        assert await conn.scalar(select(func.count()).select_from(oauth_clients)) == clients
    assert await _counts(world) == before
