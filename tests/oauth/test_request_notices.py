"""What the site header tells a signed-in user about connection requests (SPEC §6 "Requests"):
owners and admins who may decide see how many wait and where (the App policy page of the one
organization, or Connected apps for several); the requester, once approved, is pointed back
until the connection is made. Declined, expired and used requests tell nobody; an admin under
"owners only" is not asked to decide."""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape

import httpx
import pytest
from authorize_flow import World, checkboxes, make_world, services_of, sign_in_browser
from authorize_flow import start_authorization as start
from sqlalchemy import event
from test_connection_requests import carol_asks, decide, only_request
from test_consent_flow import answer, open_consent, post

from i18n_connect.clock import FrozenClock
from i18n_connect.oauth.clients import get_client
from i18n_connect.platform import connection_requests, policies

_NOTICE = re.compile(
    r'<a class="account__alert[^"]*" href="([^"]*)" title="([^"]*)" data-notice="(\w+)">(.*?)</a>',
    re.S,
)


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> World:
    return await make_world(services_of(app_client))


async def notices(client: httpx.AsyncClient, path: str = "/") -> dict[str, tuple[str, str, str]]:
    """The header's notices on ``path``: kind → (link, title, text)."""
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return {
        kind: (unescape(href), unescape(title), " ".join(re.sub(r"<[^>]+>", "", text).split()))
        for href, title, kind, text in _NOTICE.findall(page.text)
    }


async def test_the_owner_is_pointed_to_the_request_and_the_requester_to_finishing(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await carol_asks(app_client, world)
    assert await notices(app_client) == {}  # Carol asked; she decides nothing
    await sign_in_browser(app_client, world.alice)  # owner of Acme
    expected = {"requests": ("/orgs/acme/app-policy#requests-title", "Acme: 1", "1 app request")}
    assert await notices(app_client) == expected
    assert await notices(app_client, "/developer/apps") == expected  # every page's header
    page = await app_client.get("/orgs/acme/app-policy")
    assert 'id="requests-title"' in page.text  # where the link lands
    await sign_in_browser(app_client, world.bob)  # owner elsewhere, a stranger to Acme
    assert await notices(app_client) == {}

    await sign_in_browser(app_client, world.alice)
    assert (
        await decide(app_client, (await only_request(app_client)).id, "approve")
    ).status_code == 303
    assert await notices(app_client) == {}

    await sign_in_browser(app_client, world.carol)
    told = {"approved": ("/settings/connected-apps#asks", "Acme", "App request approved")}
    assert await notices(app_client) == told
    apps = await app_client.get("/settings/connected-apps")
    assert 'id="asks"' in apps.text and "connect again to finish" in apps.text
    request_id = await start(app_client, world.client_id)
    consent_page, csrf = await open_consent(app_client, request_id)
    assert checkboxes(consent_page.text, "organization") == {world.acme: True}
    connected = await post(app_client, answer(request_id, csrf, organizations=[world.acme]))
    assert connected.status_code == 303, connected.text
    assert (await only_request(app_client)).status == "used"
    assert await notices(app_client) == {}


async def test_a_declined_request_tells_nobody_in_the_header(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await carol_asks(app_client, world)
    await sign_in_browser(app_client, world.alice)
    assert (
        await decide(app_client, (await only_request(app_client)).id, "decline")
    ).status_code == 303
    assert await notices(app_client) == {}
    await sign_in_browser(app_client, world.carol)
    assert await notices(app_client) == {}


async def test_an_expired_request_tells_nobody_in_the_header(
    app_client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    await carol_asks(app_client, world)
    await sign_in_browser(app_client, world.alice)
    clock.advance(timedelta(days=14) - timedelta(seconds=1))
    await sign_in_browser(app_client, world.alice)  # a browser session lasts less
    assert set(await notices(app_client)) == {"requests"}
    clock.advance(timedelta(seconds=2))
    assert await notices(app_client) == {}


async def test_an_approval_tells_the_requester_until_it_expires(
    app_client: httpx.AsyncClient, world: World, clock: FrozenClock
) -> None:
    await carol_asks(app_client, world)
    clock.advance(timedelta(days=10))
    await sign_in_browser(app_client, world.alice)
    assert (
        await decide(app_client, (await only_request(app_client)).id, "approve")
    ).status_code == 303
    clock.advance(timedelta(days=13))  # an approval lasts 14 days from the decision
    await sign_in_browser(app_client, world.carol)
    assert set(await notices(app_client)) == {"approved"}
    clock.advance(timedelta(days=1, seconds=1))
    assert await notices(app_client) == {}


async def _alice_asks(client: httpx.AsyncClient, world: World, organization_id: str) -> None:
    """Alice asks to connect the app to an organization where her role does not let her."""
    services = services_of(client)
    async with services.db.transaction() as conn:
        app = await get_client(conn, world.client_id)
        assert app is not None
        role = "admin" if organization_id == world.globex else "member"
        await connection_requests.ask(
            conn,
            organization_id=organization_id,
            client=app,
            user_id=world.alice,
            role=role,
            note="",
            now=services.clock.now(),
        )


async def test_owners_only_asks_owners_not_admins_and_several_organizations_go_to_one_page(
    app_client: httpx.AsyncClient, world: World
) -> None:
    services = services_of(app_client)
    async with services.db.transaction() as conn:
        await policies.change_policy(
            conn,
            organization_id=world.globex,
            connect_roles="owners",
            allowed_apps="any",
            actor=world.bob,
            now=services.clock.now(),
        )
    await _alice_asks(app_client, world, world.globex)  # an admin under "owners only"
    await _alice_asks(app_client, world, world.initech)  # a member
    await sign_in_browser(app_client, world.alice)
    assert await notices(app_client) == {}  # her own requests; she decides neither
    await sign_in_browser(app_client, world.bob)  # owner of Globex and Initech
    assert await notices(app_client) == {
        "requests": ("/settings/connected-apps", "Globex: 1, Initech: 1", "2 app requests")
    }
    async with services.db.transaction(readonly=True) as conn:
        waiting = await connection_requests.waiting_for(
            conn, user_id=world.bob, now=services.clock.now()
        )
        mine = await connection_requests.waiting_for(
            conn, user_id=world.alice, now=services.clock.now()
        )
    assert [(w.organization_slug, w.count) for w in waiting.to_decide] == [
        ("globex", 1),
        ("initech", 1),
    ]
    assert (waiting.approved, mine) == ((), connection_requests.Waiting())
    page = await app_client.get("/settings/connected-apps")
    for slug in ("globex", "initech"):
        assert (
            f'href="/orgs/{slug}/app-policy">App policy <span class="badge badge--count">1 request'
            in page.text
        )


async def test_a_signed_out_page_and_an_error_page_show_no_notice(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await carol_asks(app_client, world)
    await sign_in_browser(app_client, world.alice)
    missing = await app_client.get("/orgs/umbrella/app-policy")
    assert missing.status_code == 404 and "data-notice" not in missing.text
    app_client.cookies.clear()
    login = await app_client.get("/login")
    assert login.status_code == 200 and "data-notice" not in login.text


async def test_the_header_costs_one_statement(app_client: httpx.AsyncClient, world: World) -> None:
    await carol_asks(app_client, world)
    services = services_of(app_client)
    statements: list[str] = []

    def count(*args: object) -> None:
        statements.append(str(args[2]))

    engine = services.db.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        async with services.db.transaction(readonly=True) as conn:
            waiting = await connection_requests.waiting_for(
                conn, user_id=world.alice, now=services.clock.now()
            )
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert waiting.to_decide_count == 1
    assert len([s for s in statements if "connection_requests" in s]) == 1
    assert len([s for s in statements if s.lstrip().upper().startswith("SELECT")]) == 1
