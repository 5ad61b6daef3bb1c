"""The organization's audit trail page (SPEC §6 "Audit trail"): names instead of ids, filters by
app, actor, action and time, CSV and JSON Lines exports, 404 for anyone but owners and admins
and 400 for a malformed filter."""

from __future__ import annotations

import csv
import io
import json

import httpx
import pytest
from authorize_flow import World, make_world, services_of, sign_in_browser
from test_organization_policy import connect, submit

from i18n_connect import grants
from i18n_connect.oauth.client_lifecycle import delete_client
from i18n_connect.oauth.clients import get_client
from i18n_connect.platform.projects import create_project

AUDIT = "/orgs/acme/audit"


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> World:
    return await make_world(services_of(app_client))


async def blocked_after_connecting(client: httpx.AsyncClient, world: World) -> None:
    """Alice connects the unverified app to Acme, then blocks it there (revoking the grant)."""
    await connect(client, world, world.client_id, world.acme)
    block = [("list", "blocked"), ("client_id", world.client_id), ("operation", "add")]
    assert (
        await submit(client, "/orgs/acme/app-policy/list", [*block, ("expected", "1")])
    ).status_code == 303


async def test_the_page_names_apps_and_people_and_filters(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await blocked_after_connecting(app_client, world)
    page = await app_client.get(AUDIT)
    assert page.status_code == 200
    for action in ("grant.consented", "grant.revoked", "policy.app_blocked"):
        assert f'data-action="{action}"' in page.text
    assert "Editor &lt;Plugin&gt;" in page.text and "alice@example.com" in page.text
    assert "reason: organization_policy" in page.text
    only_policy = await app_client.get(AUDIT, params={"action": "policy"})
    assert only_policy.text.count("data-action=") == 1
    by_app = await app_client.get(AUDIT, params={"app": world.operator_client_id})
    assert "No event matches." in by_app.text
    by_actor = await app_client.get(AUDIT, params={"actor": world.alice, "action": "grant.revoked"})
    assert by_actor.text.count("data-action=") == 1
    today = services_of(app_client).clock.now().strftime("%Y-%m-%d")
    dated = await app_client.get(AUDIT, params={"since": today, "until": today})
    assert dated.text.count("data-action=") == 5  # with Acme's creation and Carol's joining
    before = await app_client.get(AUDIT, params={"until": "2000-01-01"})
    assert "No event matches." in before.text


async def test_exports_carry_ids_and_names(app_client: httpx.AsyncClient, world: World) -> None:
    await blocked_after_connecting(app_client, world)
    lines = await app_client.get(AUDIT, params={"format": "jsonl", "action": "grant.revoked"})
    assert lines.status_code == 200
    assert lines.headers["content-type"] == "application/x-ndjson"
    assert lines.headers["content-disposition"] == 'attachment; filename="acme-audit.jsonl"'
    (row,) = [json.loads(line) for line in lines.text.splitlines()]
    assert (row["client_id"], row["app"]) == (world.client_id, "Editor <Plugin>")
    assert (row["actor"], row["actor_name"]) == (world.alice, "alice@example.com")
    assert row["detail"] == {"reason": "organization_policy"}
    table = await app_client.get(AUDIT, params={"format": "csv"})
    assert table.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.DictReader(io.StringIO(table.text)))
    assert [r["action"] for r in rows] == [
        "policy.app_blocked",
        "grant.revoked",
        "grant.consented",
        "membership.added",
        "organization.created",
    ]
    assert rows[1]["detail"] == '{"reason": "organization_policy"}'
    # who joined and who owned it first, by id and by name
    assert (rows[3]["actor"], rows[3]["user_id"], rows[3]["user"]) == (
        "system",
        world.carol,
        "carol@example.com",
    )
    assert json.loads(rows[3]["detail"]) == {"role": "member"}
    assert (rows[4]["user_id"], rows[4]["user"]) == (world.alice, "alice@example.com")
    assert json.loads(rows[4]["detail"]) == {"slug": "acme", "name": "Acme", "role": "owner"}


async def test_the_page_names_who_joined_and_who_created_the_organization(
    app_client: httpx.AsyncClient, world: World
) -> None:
    await sign_in_browser(app_client, world.alice)
    page = await app_client.get(AUDIT, params={"action": "membership.added"})
    assert page.status_code == 200
    assert page.text.count("data-action=") == 1
    assert "user carol@example.com" in page.text and world.carol not in page.text
    created = await app_client.get(AUDIT, params={"action": "organization.created"})
    assert created.text.count('data-action="organization.created"') == 1
    assert "user alice@example.com" in created.text


@pytest.mark.parametrize(
    "params",
    [{"since": "yesterday"}, {"until": "2026-13-01"}, {"format": "xml"}, {"app": "x" * 513}],
)
async def test_a_malformed_filter_is_400(
    app_client: httpx.AsyncClient, world: World, params: dict[str, str]
) -> None:
    await sign_in_browser(app_client, world.alice)
    assert (await app_client.get(AUDIT, params=params)).status_code == 400


async def test_only_owners_and_admins_see_it(app_client: httpx.AsyncClient, world: World) -> None:
    await sign_in_browser(app_client, world.alice)  # admin of Globex, member of Initech
    assert (await app_client.get("/orgs/globex/audit")).status_code == 200
    assert (await app_client.get("/orgs/initech/audit")).status_code == 404
    assert (
        await app_client.get("/orgs/umbrella/audit", params={"format": "csv"})
    ).status_code == 404


async def test_a_deleted_app_and_a_grants_projects_are_named_and_exports_keep_the_ids(
    app_client: httpx.AsyncClient, world: World
) -> None:
    services = services_of(app_client)
    await connect(app_client, world, world.client_id, world.acme)
    async with services.db.transaction() as conn:
        website = await create_project(
            conn,
            organization_id=world.acme,
            name="Web <site>",
            slug="website",
            source_language="en",
            now=services.clock.now(),
        )
        (grant,) = await grants.list_grants(conn, organization_id=world.acme)
        await grants.set_projects(
            conn, grant, (website.id,), actor=world.alice, now=services.clock.now()
        )
        app = await get_client(conn, world.client_id)
        assert app is not None
        await delete_client(
            conn, app, actor="cli", now=services.clock.now(), reason="client_deleted"
        )
    page = await app_client.get(AUDIT, params={"action": "grant"})
    assert page.status_code == 200
    assert page.text.count("data-action=") == 3  # consented, updated, revoked
    assert "reason: client_deleted" in page.text
    assert page.text.count("app <strong>Editor &lt;Plugin&gt;</strong>") == 3
    assert "previous_project_ids: none; project_ids: Web &lt;site&gt;" in page.text
    assert website.id not in page.text
    lines = await app_client.get(AUDIT, params={"format": "jsonl", "action": "grant.updated"})
    (row,) = [json.loads(line) for line in lines.text.splitlines()]
    assert row["app"] == "Editor <Plugin>"
    assert row["detail"] == {"project_ids": [website.id], "previous_project_ids": None}
    assert row["detail_named"] == {"project_ids": ["Web <site>"], "previous_project_ids": None}
    table = await app_client.get(AUDIT, params={"format": "csv", "action": "grant.updated"})
    (line,) = list(csv.DictReader(io.StringIO(table.text)))
    assert json.loads(line["detail"])["project_ids"] == [website.id]
    assert json.loads(line["detail_named"])["project_ids"] == ["Web <site>"]
