"""Helpers of the developer console tests (imported by name: tests/web is on sys.path)."""

from __future__ import annotations

import re
import struct
import zlib
from typing import Any

import httpx
from web_helpers import app_services, csrf_from

from i18n_connect import grants
from i18n_connect.clock import FrozenClock
from i18n_connect.platform.organizations import get_organization_by_slug
from i18n_connect.storage import client_profiles

APPS = "/developer/apps"
CLIENT_ID = re.compile(r'data-testid="client-id">([^<]+)<')
NEW_SECRET = re.compile(r'data-testid="new-secret">([^<]+)<')


def png(size: int = 0) -> bytes:
    """A valid 1x1 PNG, padded with an ancillary chunk to about ``size`` bytes."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0))
    pixels = chunk(b"IDAT", zlib.compress(b"\x00\x2f\x5b\xd3\xff"))
    padding = chunk(b"tEXt", b"pad\x00" + b"x" * max(0, size - 80)) if size else b""
    return b"\x89PNG\r\n\x1a\n" + header + padding + pixels + chunk(b"IEND", b"")


async def org_id(client: httpx.AsyncClient, slug: str) -> str:
    async with app_services(client).db.transaction(readonly=True) as conn:
        organization = await get_organization_by_slug(conn, slug)
    assert organization is not None
    return organization.id


def app_fields(organization_id: str, **changes: Any) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "organization_id": organization_id,
        "name": "Lingo Sync",
        "description": "Keeps your strings in sync.",
        "client_uri": "https://lingo.example/",
        "policy_uri": "https://lingo.example/privacy",
        "tos_uri": "",
        "redirect_uris": "https://lingo.example/callback\nhttp://127.0.0.1/callback",
        "kind": "public",
        "scopes": ["org:read", "keys:read"],
        "logo_url": "",
    }
    fields.update(changes)
    return {key: value for key, value in fields.items() if value is not None}


async def post_form(
    client: httpx.AsyncClient,
    url: str,
    fields: dict[str, Any],
    *,
    logo: tuple[str, bytes, str] = ("", b"", "application/octet-stream"),
    csrf: str | None = None,
) -> httpx.Response:
    """Post ``fields`` as a browser does: multipart, with the form's CSRF token and a file part
    (empty when no file was chosen)."""
    if csrf is None:
        csrf = csrf_from((await client.get(APPS)).text)
    return await client.post(url, data={"csrf_token": csrf, **fields}, files={"logo_file": logo})


async def created_page(response: httpx.Response, client: httpx.AsyncClient) -> httpx.Response:
    """The app page a successful create or rotation redirects to (where the secret shows)."""
    assert response.status_code == 303, response.text
    assert response.headers["location"].startswith(APPS + "/cli_")
    return await client.get(response.headers["location"])


def client_id_of(page: httpx.Response) -> str:
    match = CLIENT_ID.search(page.text)
    assert match
    return match.group(1)


async def create(client: httpx.AsyncClient, organization_id: str, **changes: Any) -> str:
    """Create an app through the form; its client id."""
    response = await post_form(client, APPS, app_fields(organization_id, **changes))
    return client_id_of(await created_page(response, client))


async def published(client: httpx.AsyncClient, organization_id: str) -> list[str]:
    """The client ids of the apps the organization publishes."""
    async with app_services(client).db.transaction(readonly=True) as conn:
        profiles = await client_profiles.clients_of_organizations(conn, [organization_id])
    return [profile.client_id for profile in profiles]


async def connect(
    client: httpx.AsyncClient, clock: FrozenClock, user_id: str, client_id: str, org: str
) -> grants.Grant:
    """The user's grant of ``org:read`` on ``org`` to the app, as consent makes it."""
    async with app_services(client).db.transaction() as conn:
        [grant] = await grants.consent(
            conn,
            user_id=user_id,
            client_id=client_id,
            organization_ids=[org],
            scope=["org:read"],
            now=clock.now(),
        )
    return grant


async def sign_out(client: httpx.AsyncClient) -> None:
    page = await client.get("/")
    await client.post("/logout", data={"csrf_token": csrf_from(page.text)})
