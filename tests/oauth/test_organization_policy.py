"""An organization's app policy (SPEC §6 "Organization policy"): the owner's page, the
confirmation that says how many grants a change revokes, the consent screen that shows a
disallowed organization disabled with its reason, and every hostile form refused with nothing
written."""

from __future__ import annotations

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
    stored_state,
)
from sqlalchemy import select
from test_consent_flow import answer, nothing_created, open_consent, post, signed_in_request

from i18n_connect import grants
from i18n_connect.platform import policies
from i18n_connect.storage.tables import audit_events

ACME_POLICY = "/orgs/acme/app-policy"
GLOBEX_POLICY = "/orgs/globex/app-policy"


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> World:
    return await make_world(services_of(app_client))


async def connect(client: httpx.AsyncClient, world: World, client_id: str, org: str) -> str:
    """Alice connects ``client_id`` to ``org`` through the consent screen; the live grant's id."""
    await sign_in_browser(client, world.alice)
    request_id = await start_authorization(client, client_id)
    _, csrf = await open_consent(client, request_id)
    approved = await post(client, answer(request_id, csrf, organizations=[org]))
    assert approved.status_code == 303, approved.text
    (grant,) = await live_grants(client, org, client_id)
    return grant.id


async def live_grants(client: httpx.AsyncClient, org: str, client_id: str) -> list[grants.Grant]:
    async with services_of(client).db.transaction(readonly=True) as conn:
        return await grants.list_grants(conn, organization_id=org, client_id=client_id)


async def policy_of(client: httpx.AsyncClient, org: str) -> policies.Policy:
    async with services_of(client).db.transaction(readonly=True) as conn:
        return await policies.get_policy(conn, org)


async def actions(client: httpx.AsyncClient) -> list[tuple[str, dict[str, object]]]:
    async with services_of(client).db.transaction(readonly=True) as conn:
        rows = (await conn.execute(select(audit_events).order_by(audit_events.c.id))).all()
    return [(row.action, dict(row.detail)) for row in rows if row.action.startswith("policy.")]


async def submit(
    client: httpx.AsyncClient, path: str, fields: list[tuple[str, str]], *, csrf: bool = True
) -> httpx.Response:
    """Post a policy form the way the page does, with the page's CSRF token unless told not to."""
    page = await client.get(ACME_POLICY if path.startswith(ACME_POLICY) else GLOBEX_POLICY)
    form = [("csrf_token", csrf_from(page.text))] if csrf else []
    return await client.post(
        path,
        content=str(httpx.QueryParams(form + fields)),
        headers={"content-type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )


SETTINGS = [("connect_roles", "owners_admins"), ("allowed_apps", "verified")]


# --- who sees the page ---------------------------------------------------------------------


async def test_owner_edits_admin_reads_member_and_stranger_get_404(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_browser(app_client, world.alice)  # owner of Acme, admin of Globex
    owner = await app_client.get(ACME_POLICY)
    assert owner.status_code == 200
    assert checkboxes(owner.text, "connect_roles") == {}  # radios, not checkboxes
    assert 'value="owners_admins" checked' in owner.text and 'value="any" checked' in owner.text
    assert "Save policy" in owner.text
    admin = await app_client.get(GLOBEX_POLICY)
    assert admin.status_code == 200
    assert "Save policy" not in admin.text and "Only an owner can change it." in admin.text
    member = await app_client.get("/orgs/initech/app-policy")
    stranger = await app_client.get("/orgs/umbrella/app-policy")
    unknown = await app_client.get("/orgs/nowhere/app-policy")
    assert (member.status_code, stranger.status_code, unknown.status_code) == (404, 404, 404)
    assert "No such organization." in member.text
    app_client.cookies.clear()
    signed_out = await app_client.get(ACME_POLICY, follow_redirects=False)
    assert signed_out.status_code == 303
    assert signed_out.headers["location"] == "/login?next=/orgs/acme/app-policy"


# --- a change that revokes grants is confirmed first -------------------------------------


async def test_verified_only_asks_for_confirmation_with_the_count_then_revokes(
    app_client: httpx.AsyncClient, world: World
) -> None:
    unverified = await connect(app_client, world, world.client_id, world.acme)
    verified = await connect(app_client, world, world.operator_client_id, world.acme)
    asked = await submit(app_client, ACME_POLICY, SETTINGS)
    assert asked.status_code == 200
    assert "Revoke 1 connection?" in asked.text
    assert "Editor &lt;Plugin&gt;" in asked.text and "Operator Plugin" not in asked.text
    assert (await policy_of(app_client, world.acme)).allowed_apps == "any"  # nothing written
    assert len(await live_grants(app_client, world.acme, world.client_id)) == 1
    assert await actions(app_client) == []

    confirmed = await submit(app_client, ACME_POLICY, [*SETTINGS, ("expected", "1")])
    assert confirmed.status_code == 303
    assert confirmed.headers["location"] == f"{ACME_POLICY}?saved&revoked=1"
    assert (await policy_of(app_client, world.acme)).allowed_apps == "verified"
    async with services_of(app_client).db.transaction(readonly=True) as conn:
        gone = await grants.get_grant(conn, unverified)
        kept = await grants.get_grant(conn, verified)
        (revocation,) = (
            await conn.execute(
                select(audit_events).where(
                    audit_events.c.action == "grant.revoked", audit_events.c.grant_id == unverified
                )
            )
        ).all()
    assert gone is not None and gone.revoked_at is not None
    assert kept is not None and kept.revoked_at is None
    assert revocation.detail == {"reason": "organization_policy"}
    assert revocation.actor == world.alice
    assert await actions(app_client) == [
        (
            "policy.changed",
            {
                "from": {"connect_roles": "owners_admins", "allowed_apps": "any"},
                "to": {"connect_roles": "owners_admins", "allowed_apps": "verified"},
                "grants_revoked": 1,
            },
        )
    ]
    saved = await app_client.get(confirmed.headers["location"])
    assert "1 connection revoked" in saved.text


async def test_a_count_that_moved_since_the_confirmation_asks_again(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await connect(app_client, world, world.client_id, world.acme)
    stale = await submit(app_client, ACME_POLICY, [*SETTINGS, ("expected", "3")])
    assert stale.status_code == 200
    assert "The number of connections changed" in stale.text
    assert "Revoke 1 connection?" in stale.text
    assert (await policy_of(app_client, world.acme)).allowed_apps == "any"
    assert len(await live_grants(app_client, world.acme, world.client_id)) == 1


async def test_a_change_that_revokes_nothing_is_saved_at_once(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_browser(app_client, world.alice)
    saved = await submit(app_client, ACME_POLICY, [("connect_roles", "owners"), SETTINGS[1]])
    assert saved.status_code == 303
    assert saved.headers["location"] == f"{ACME_POLICY}?saved&revoked=0"
    policy = await policy_of(app_client, world.acme)
    assert (policy.connect_roles, policy.allowed_apps) == ("owners", "verified")


async def test_blocking_an_app_revokes_its_grants_and_unblocking_allows_it_again(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await connect(app_client, world, world.client_id, world.acme)
    block = [("list", "blocked"), ("client_id", world.client_id), ("operation", "add")]
    asked = await submit(app_client, f"{ACME_POLICY}/list", block)
    assert asked.status_code == 200 and "Revoke 1 connection?" in asked.text
    assert "Block Editor &lt;Plugin&gt;." in asked.text
    done = await submit(app_client, f"{ACME_POLICY}/list", [*block, ("expected", "1")])
    assert done.status_code == 303
    assert await live_grants(app_client, world.acme, world.client_id) == []
    assert (await policy_of(app_client, world.acme)).blocked == {world.client_id}

    request_id = await start_authorization(app_client, world.client_id)
    page, csrf = await open_consent(app_client, request_id)
    assert checkboxes(page.text, "organization") == {world.globex: True}  # the only one
    assert "Acme has blocked this app." in page.text
    before = await stored_state(services_of(app_client))
    tampered = await post(app_client, answer(request_id, csrf, organizations=[world.acme]))
    assert tampered.status_code == 400
    assert "Acme has blocked this app." in tampered.text
    assert await stored_state(services_of(app_client)) == before

    unblock = [("list", "blocked"), ("client_id", world.client_id), ("operation", "remove")]
    assert (await submit(app_client, f"{ACME_POLICY}/list", unblock)).status_code == 303
    assert (await policy_of(app_client, world.acme)).blocked == frozenset()
    assert [action for action, _ in await actions(app_client)] == [
        "policy.app_blocked",
        "policy.app_unblocked",
    ]


async def test_approved_only_offers_exactly_the_approved_apps(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_browser(app_client, world.alice)
    only_approved = [("connect_roles", "owners_admins"), ("allowed_apps", "approved")]
    assert (await submit(app_client, ACME_POLICY, only_approved)).status_code == 303
    request_id = await start_authorization(app_client, world.client_id)
    page, _ = await open_consent(app_client, request_id)
    assert "Acme allows only apps its owners approved." in page.text
    assert checkboxes(page.text, "organization") == {world.globex: True}  # the only one

    approve = [("list", "approved"), ("client_id", world.client_id), ("operation", "add")]
    assert (await submit(app_client, f"{ACME_POLICY}/list", approve)).status_code == 303
    page, _ = await open_consent(app_client, request_id)
    assert checkboxes(page.text, "organization") == {world.acme: False, world.globex: False}


async def test_revoke_all_of_an_app_confirms_the_count_and_keeps_the_policy(
    app_client: httpx.AsyncClient, world: World
) -> None:
    grant_id = await connect(app_client, world, world.client_id, world.acme)
    fields = [("client_id", world.client_id)]
    asked = await submit(app_client, f"{ACME_POLICY}/revoke", fields)
    assert asked.status_code == 200 and "Revoke 1 connection?" in asked.text
    assert "Revoke every connection of Editor &lt;Plugin&gt; to Acme." in asked.text
    assert len(await live_grants(app_client, world.acme, world.client_id)) == 1
    done = await submit(app_client, f"{ACME_POLICY}/revoke", [*fields, ("expected", "1")])
    assert done.status_code == 303
    assert done.headers["location"] == f"{ACME_POLICY}?saved&revoked=1"
    assert await live_grants(app_client, world.acme, world.client_id) == []
    assert await policy_of(app_client, world.acme) == policies.Policy()
    async with services_of(app_client).db.transaction(readonly=True) as conn:
        reason = await conn.scalar(
            select(audit_events.c.detail).where(
                audit_events.c.action == "grant.revoked", audit_events.c.grant_id == grant_id
            )
        )
    assert reason == {"reason": "organization_admin"}
    assert await actions(app_client) == [("policy.app_revoked", {"grants_revoked": 1})]
    nothing_left = await submit(app_client, f"{ACME_POLICY}/revoke", fields)
    assert nothing_left.status_code == 400


# --- consent under "owners only" -----------------------------------------------------------


async def test_owners_only_disables_the_organization_for_an_admin_and_refuses_the_tampered_form(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_browser(app_client, world.bob)  # owner of Globex
    owners_only = [("connect_roles", "owners"), ("allowed_apps", "any")]
    assert (await submit(app_client, GLOBEX_POLICY, owners_only)).status_code == 303

    request_id, csrf = await signed_in_request(app_client, world)  # Alice, admin of Globex
    page, _ = await open_consent(app_client, request_id)
    assert checkboxes(page.text, "organization") == {world.acme: True}  # the only one
    assert "Only owners of Globex can connect apps to it." in page.text
    assert world.globex not in page.text  # shown by name, never as a form value
    tampered = await post(app_client, answer(request_id, csrf, organizations=[world.globex]))
    assert tampered.status_code == 400
    assert "Only owners of Globex can connect apps to it." in tampered.text
    assert await stored_state(services_of(app_client)) == nothing_created()


async def test_an_organization_that_blocks_after_the_page_was_shown_refuses_the_consent(
    app_client: httpx.AsyncClient, world: World
) -> None:
    request_id, csrf = await signed_in_request(app_client, world)
    async with services_of(app_client).db.transaction() as conn:
        await policies.change_list(
            conn,
            organization_id=world.acme,
            list_name="blocked",
            client_id=world.client_id,
            listed=True,
            actor=world.alice,
            now=services_of(app_client).clock.now(),
        )
    refused = await post(app_client, answer(request_id, csrf, organizations=[world.acme]))
    assert refused.status_code == 400
    assert "Acme has blocked this app." in refused.text
    assert await stored_state(services_of(app_client)) == nothing_created()


# --- hostile forms: exact status, nothing written ---------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status"),
    [
        ([("connect_roles", "everyone"), ("allowed_apps", "any")], 400),
        ([("connect_roles", "owners"), ("allowed_apps", "all")], 400),
        ([("connect_roles", "owners"), ("connect_roles", "owners_admins"), SETTINGS[1]], 400),
        ([("allowed_apps", "verified")], 400),
    ],
)
async def test_a_settings_form_the_page_never_offers_is_refused(
    app_client: httpx.AsyncClient,
    world: World,
    fields: list[tuple[str, str]],
    status: int,
) -> None:
    await sign_in_browser(app_client, world.alice)
    refused = await submit(app_client, ACME_POLICY, fields)
    assert refused.status_code == status
    assert (await policy_of(app_client, world.acme)) == policies.Policy()
    assert await actions(app_client) == []


@pytest.mark.parametrize(
    "fields",
    [
        [("list", "allowed"), ("client_id", "x"), ("operation", "add")],
        [("list", "blocked"), ("client_id", "no-such-client"), ("operation", "add")],
        [("list", "blocked"), ("client_id", "x"), ("operation", "toggle")],
        [("list", "blocked"), ("operation", "add")],
    ],
)
async def test_a_list_form_the_page_never_offers_is_refused(
    app_client: httpx.AsyncClient, world: World, fields: list[tuple[str, str]]
) -> None:
    await sign_in_browser(app_client, world.alice)
    refused = await submit(app_client, f"{ACME_POLICY}/list", fields)
    assert refused.status_code == 400
    assert (await policy_of(app_client, world.acme)) == policies.Policy()
    assert await actions(app_client) == []


async def test_missing_csrf_admin_and_member_are_refused_with_nothing_written(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_browser(app_client, world.alice)
    no_csrf = await submit(app_client, ACME_POLICY, SETTINGS, csrf=False)
    assert no_csrf.status_code == 403
    admin = await submit(app_client, GLOBEX_POLICY, SETTINGS)  # Alice is only an admin there
    assert admin.status_code == 403 and "Only an owner can change" in admin.text
    await sign_in_browser(app_client, world.carol)  # a member of Acme
    page = await app_client.get("/")
    member = await app_client.post(
        ACME_POLICY,
        data={"csrf_token": csrf_from(page.text), **dict(SETTINGS)},
        follow_redirects=False,
    )
    assert member.status_code == 404
    assert await policy_of(app_client, world.acme) == policies.Policy()
    assert await policy_of(app_client, world.globex) == policies.Policy()
    assert await actions(app_client) == []
