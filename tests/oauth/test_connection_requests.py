"""A member asks to connect an app (SPEC §6 "Requests"): the ask from the consent screen, the
owner's approval on the App policy page, the requester told and connecting once, refresh
keeping the member's grant, and the hostile cases refused with nothing written."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from authorize_flow import (
    World,
    checkboxes,
    csrf_from,
    make_world,
    services_of,
    sign_in_browser,
    start_authorization,
)
from sqlalchemy import func, select
from test_consent_flow import answer, open_consent, post
from test_project_choice import tokens_after

from i18n_connect import grants
from i18n_connect.clock import FrozenClock
from i18n_connect.platform import connection_requests
from i18n_connect.storage.tables import audit_events
from i18n_connect.storage.tables import connection_requests as requests_table

ASK = "/api/auth/mcp/consent/ask"
ACME_POLICY = "/orgs/acme/app-policy"


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> World:
    return await make_world(services_of(app_client))


async def carol_asks(
    client: httpx.AsyncClient, world: World, note: str = "For the docs site"
) -> str:
    """Carol (a member of Acme) asks from the consent screen; the authorization request id."""
    await sign_in_browser(client, world.carol)
    request_id = await start_authorization(client, world.client_id)
    page, csrf = await open_consent(client, request_id)
    assert "Ask an owner of Acme" in page.text
    asked = await client.post(
        ASK,
        data={"csrf_token": csrf, "request_id": request_id, "organization": "acme", "note": note},
        follow_redirects=False,
    )
    assert asked.status_code == 303, asked.text
    assert asked.headers["location"] == f"/api/auth/mcp/consent?request_id={request_id}"
    return request_id


async def count_requests(client: httpx.AsyncClient) -> int:
    async with services_of(client).db.transaction(readonly=True) as conn:
        return int(await conn.scalar(select(func.count()).select_from(requests_table)) or 0)


async def audited(client: httpx.AsyncClient) -> list[str]:
    async with services_of(client).db.transaction(readonly=True) as conn:
        rows = (await conn.execute(select(audit_events.c.action).order_by(audit_events.c.id))).all()
    return [row.action for row in rows if row.action.startswith("connection_request.")]


async def decide(client: httpx.AsyncClient, request_id: str, decision: str) -> httpx.Response:
    page = await client.get(ACME_POLICY)
    return await client.post(
        f"/orgs/acme/requests/{request_id}/{decision}",
        data={"csrf_token": csrf_from(page.text)},
        follow_redirects=False,
    )


async def only_request(client: httpx.AsyncClient) -> connection_requests.ConnectionRequest:
    async with services_of(client).db.transaction(readonly=True) as conn:
        (found,) = await connection_requests.live_requests(
            conn, now=services_of(client).clock.now(), statuses=("pending", "approved", "used")
        )
    return found


async def test_ask_approve_connect_once(app_client: httpx.AsyncClient, world: World) -> None:
    request_id = await carol_asks(app_client, world)
    waiting = await app_client.get(f"/api/auth/mcp/consent?request_id={request_id}")
    assert "they have not answered yet" in waiting.text
    assert "Ask an owner of Acme" not in waiting.text
    mine = await app_client.get("/settings/connected-apps")
    assert "waiting for an owner" in mine.text
    ask = await only_request(app_client)
    assert (ask.status, ask.note, ask.user_id) == ("pending", "For the docs site", world.carol)

    await sign_in_browser(app_client, world.alice)  # owner of Acme
    listed = await app_client.get("/settings/connected-apps")
    assert "1 request" in listed.text
    page = await app_client.get(ACME_POLICY)
    assert "Carol" in page.text and "For the docs site" in page.text and "1 pending" in page.text
    approved = await decide(app_client, ask.id, "approve")
    assert approved.status_code == 303
    assert approved.headers["location"] == f"{ACME_POLICY}?decided"
    again = await decide(app_client, ask.id, "approve")
    assert again.status_code == 409  # a decided request is not decided twice

    await sign_in_browser(app_client, world.carol)
    told = await app_client.get("/settings/connected-apps")
    assert "approved" in told.text and "connect again to finish" in told.text
    second = await start_authorization(app_client, world.client_id)
    consent_page, csrf = await open_consent(app_client, second)
    assert checkboxes(consent_page.text, "organization") == {world.acme: True}
    assert "Request approved" in consent_page.text
    connected = await post(app_client, answer(second, csrf, organizations=[world.acme]))
    body = await tokens_after(app_client, world, connected)
    refreshed = await app_client.post(
        "/api/auth/mcp/token",
        data={
            "grant_type": "refresh_token",
            "refresh_token": body["refresh_token"],
            "client_id": world.client_id,
        },
    )
    assert refreshed.status_code == 200, refreshed.text  # a member's approved grant lives on
    async with services_of(app_client).db.transaction(readonly=True) as conn:
        (grant,) = await grants.list_grants(conn, organization_id=world.acme)
    assert (grant.user_id, grant.request_id) == (world.carol, ask.id)
    assert (await only_request(app_client)).status == "used"
    third = await start_authorization(app_client, world.client_id)
    used_up, _ = await open_consent(app_client, third)
    assert checkboxes(used_up.text, "organization") == {}
    assert await audited(app_client) == [
        "connection_request.created",
        "connection_request.approved",
    ]


async def test_declined_request_tells_the_requester_and_grants_nothing(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await carol_asks(app_client, world)
    ask = await only_request(app_client)
    await sign_in_browser(app_client, world.alice)
    assert (await decide(app_client, ask.id, "decline")).status_code == 303
    await sign_in_browser(app_client, world.carol)
    told = await app_client.get("/settings/connected-apps")
    assert "declined" in told.text
    request_id = await start_authorization(app_client, world.client_id)
    page, _ = await open_consent(app_client, request_id)
    assert checkboxes(page.text, "organization") == {}
    assert await audited(app_client) == [
        "connection_request.created",
        "connection_request.declined",
    ]


async def test_a_request_expires_after_fourteen_days(
    app_client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    await carol_asks(app_client, world)
    ask = await only_request(app_client)
    clock.advance(timedelta(days=14, seconds=1))
    await sign_in_browser(app_client, world.alice)
    page = await app_client.get(ACME_POLICY)
    assert "For the docs site" not in page.text
    assert (await decide(app_client, ask.id, "approve")).status_code == 409
    assert await audited(app_client) == ["connection_request.created"]


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ({"organization": "globex"}, 400),  # Alice administers it: nothing to ask there
        ({"organization": "umbrella"}, 400),  # not a member
        ({"note": "x" * 501}, 400),
        ({"csrf_token": "forged"}, 403),
    ],
)
async def test_a_request_the_page_did_not_offer_is_refused(
    app_client: httpx.AsyncClient, world: World, fields: dict[str, str], status: int
) -> None:
    await sign_in_browser(
        app_client, world.alice
    )  # owner of Acme, admin of Globex, member of Initech
    request_id = await start_authorization(app_client, world.client_id)
    page, csrf = await open_consent(app_client, request_id)
    assert "Ask an owner of Initech" in page.text
    form = {"csrf_token": csrf, "request_id": request_id, "organization": "initech", **fields}
    refused = await app_client.post(ASK, data=form, follow_redirects=False)
    assert refused.status_code == status
    assert await count_requests(app_client) == 0
    assert await audited(app_client) == []


async def test_deciding_needs_the_organization_csrf_and_a_role_that_may_connect(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await carol_asks(app_client, world)
    ask = await only_request(app_client)
    no_csrf = await app_client.post(f"/orgs/acme/requests/{ask.id}/approve", follow_redirects=False)
    assert no_csrf.status_code == 404  # Carol, a member, does not see Acme's requests
    await sign_in_browser(app_client, world.bob)  # owner of Globex, a stranger to Acme
    stranger = await app_client.post(f"/orgs/acme/requests/{ask.id}/approve", data={})
    assert stranger.status_code == 404
    page = await app_client.get("/orgs/globex/app-policy")
    elsewhere = await app_client.post(
        f"/orgs/globex/requests/{ask.id}/approve", data={"csrf_token": csrf_from(page.text)}
    )
    assert elsewhere.status_code == 404  # the request is Acme's
    await sign_in_browser(app_client, world.alice)
    forged = await app_client.post(
        f"/orgs/acme/requests/{ask.id}/approve", data={"csrf_token": "forged"}
    )
    assert forged.status_code == 403
    assert (await only_request(app_client)).status == "pending"
    assert await audited(app_client) == ["connection_request.created"]
