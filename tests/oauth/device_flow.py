"""Set-up for the device authorization grant tests (RFC 8628): the people and organizations
of `authorize_flow`, clients that registered the device code grant, and the HTTP steps."""

from __future__ import annotations

import base64
import re
from dataclasses import dataclass
from typing import Any

import httpx
from authorize_flow import World, csrf_from, make_world, services_of, sign_in_browser

from i18n_connect.oauth.clients import create_client
from i18n_connect.oauth.device import DEVICE_CODE_GRANT
from i18n_connect.storage.clients import DEFAULT_GRANT_TYPES

DEVICE_AUTHORIZATION = "/api/auth/mcp/device_authorization"
TOKEN = "/api/auth/mcp/token"
USER_CODE = re.compile(r"[BCDFGHJKLMNPQRSTVWXZ]{4}-[BCDFGHJKLMNPQRSTVWXZ]{4}")
SCOPE = "org:read keys:read keys:write"


@dataclass(frozen=True)
class DeviceWorld:
    http: httpx.AsyncClient
    people: World
    public_id: str  # public client that registered the device code grant
    other_id: str  # another such public client
    confidential_id: str  # confidential client that registered it
    secret: str

    def basic(self) -> dict[str, str]:
        raw = f"{self.confidential_id}:{self.secret}".encode()
        return {"Authorization": "Basic " + base64.b64encode(raw).decode()}

    async def start(self, client_id: str | None = None, **params: str) -> dict[str, Any]:
        """A device authorization request that must succeed; its response body."""
        response = await self.http.post(
            DEVICE_AUTHORIZATION,
            data={"client_id": client_id or self.public_id, "scope": SCOPE, **params},
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def poll(self, device_code: str, client_id: str | None = None) -> httpx.Response:
        return await self.http.post(
            TOKEN,
            data={
                "grant_type": DEVICE_CODE_GRANT,
                "device_code": device_code,
                "client_id": client_id or self.public_id,
            },
        )

    async def enter_code(self, user_code: str, *, csrf: str | None = None) -> httpx.Response:
        """POST the code on the /device page (signed in already)."""
        if csrf is None:
            csrf = csrf_from((await self.http.get("/device")).text)
        return await self.http.post("/device", data={"csrf_token": csrf, "user_code": user_code})

    async def answer(
        self,
        user_code: str,
        action: str = "authorize",
        *,
        organizations: tuple[str, ...] | None = None,
        scope: str = SCOPE,
    ) -> httpx.Response:
        """Type the code and answer its consent screen as the signed-in user."""
        page = await self.enter_code(user_code)
        assert page.status_code == 200, page.text
        form: dict[str, Any] = {
            "csrf_token": csrf_from(page.text),
            "user_code": user_code,
            "action": action,
            "organization": list(organizations or (self.people.acme,)),
            "scope": scope.split(),
        }
        return await self.http.post("/device/consent", data=form)


async def make_device_world(http: httpx.AsyncClient) -> DeviceWorld:
    services = services_of(http)
    people = await make_world(services)
    now = services.clock.now()
    grant_types = (*DEFAULT_GRANT_TYPES, DEVICE_CODE_GRANT)
    made = []
    async with services.db.transaction() as conn:
        for name, confidential in (("CLI", False), ("Other CLI", False), ("CI job", True)):
            client, secret = await create_client(
                conn,
                name=name,
                redirect_uris=["http://127.0.0.1/cb"],
                confidential=confidential,
                now=now,
                hasher=services.hasher,
                origin="registration",
                grant_types=grant_types,
            )
            made.append((client.id, secret))
    assert made[2][1] is not None
    await sign_in_browser(http, people.alice)
    return DeviceWorld(http, people, made[0][0], made[1][0], made[2][0], made[2][1])
