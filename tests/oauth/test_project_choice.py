"""Project choice (SPEC §3 "Consent screen", §6 "Connected apps"): a grant covers every project
of its organization or the ones chosen at consent; the token response and ``/me`` say which;
installation tokens and the partner API refuse other projects with 403 ``wrong_project``; an
owner or admin narrows or widens the grant on Connected apps and the app's existing token
follows on its next request. Every hostile form is refused with nothing written."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import httpx
import pytest
from authorize_flow import (
    REDIRECT,
    VERIFIER,
    World,
    csrf_from,
    make_world,
    query_of,
    services_of,
    sign_in_browser,
    start_authorization,
    stored_state,
)
from sqlalchemy import select
from test_consent_flow import answer, nothing_created, open_consent, post

from i18n_connect import grants
from i18n_connect.oauth.project_choice import mode_field
from i18n_connect.platform.projects import create_project
from i18n_connect.storage.tables import audit_events

SCOPE = "org:read projects:read keys:read"
API = "/api/oauth-client"


@pytest.fixture
async def world(app_client: httpx.AsyncClient) -> World:
    return await make_world(services_of(app_client))


@pytest.fixture
async def projects(app_client: httpx.AsyncClient, world: World) -> dict[str, str]:
    """Acme's web and app projects and Umbrella's (an organization Alice is not in): slug → id."""
    services = services_of(app_client)
    found = {}
    async with services.db.transaction() as conn:
        for organization_id, slug in [
            (world.acme, "web"),
            (world.acme, "app"),
            (world.umbrella, "elsewhere"),
        ]:
            project = await create_project(
                conn,
                organization_id=organization_id,
                name=slug.title(),
                slug=slug,
                source_language="en",
                now=services.clock.now(),
            )
            found[slug] = project.id
    return found


async def consent_to_acme(
    client: httpx.AsyncClient, world: World, extra: list[tuple[str, str]]
) -> httpx.Response:
    await sign_in_browser(client, world.alice)
    request_id = await start_authorization(client, world.client_id, scope=SCOPE)
    _, csrf = await open_consent(client, request_id)
    form = answer(request_id, csrf, organizations=[world.acme], scopes=SCOPE.split())
    return await post(client, form + extra)


async def tokens_after(client: httpx.AsyncClient, world: World, approved: httpx.Response) -> Any:
    """Follow "Connection complete" to the app's redirect and exchange its code."""
    assert approved.status_code == 303, approved.text
    complete = await client.get(approved.headers["location"])
    found = re.search(r'href="(https://app\.example\.com/cb\?[^"]+)"', complete.text)
    assert found, complete.text
    continue_uri = unescape(found[1])
    code = dict(query_of(continue_uri)[1])["code"]
    exchanged = await client.post(
        "/api/auth/mcp/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT,
            "client_id": world.client_id,
            "code_verifier": VERIFIER,
        },
    )
    assert exchanged.status_code == 200, exchanged.text
    return exchanged.json()


async def mint(
    client: httpx.AsyncClient, access: str, grant_id: str, **body: Any
) -> httpx.Response:
    return await client.post(
        f"{API}/installations/{grant_id}/tokens",
        json=body,
        headers={"Authorization": f"Bearer {access}"},
    )


async def project_status(client: httpx.AsyncClient, token: str, project_id: str) -> tuple[int, str]:
    response = await client.get(f"{API}/v1/projects/{project_id}", headers={"x-api-key": token})
    return response.status_code, response.json().get("error", "")


async def test_chosen_projects_are_recorded_reported_and_enforced(
    app_client: httpx.AsyncClient, world: World, projects: dict[str, str]
) -> None:
    approved = await consent_to_acme(
        app_client, world, [(mode_field(world.acme), "some"), ("project", projects["web"])]
    )
    body = await tokens_after(app_client, world, approved)
    grant_id = body["grant_id"]
    assert body["grants"][0]["projects"] == [projects["web"]]
    me = await app_client.get(
        f"{API}/me", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert me.json()["grants"][0]["projects"] == [projects["web"]]

    minted = await mint(app_client, body["access_token"], grant_id)
    assert minted.status_code == 201, minted.text
    assert minted.json()["project_ids"] == [projects["web"]]
    token = minted.json()["installation_token"]
    assert await project_status(app_client, token, projects["web"]) == (200, "")
    assert await project_status(app_client, token, projects["app"]) == (403, "wrong_project")
    outside = await mint(app_client, body["access_token"], grant_id, project_ids=[projects["app"]])
    assert (outside.status_code, outside.json()["error"]) == (403, "wrong_project")


async def test_all_projects_is_the_default_and_covers_future_ones(
    app_client: httpx.AsyncClient, world: World, projects: dict[str, str]
) -> None:
    body = await tokens_after(app_client, world, await consent_to_acme(app_client, world, []))
    assert body["grants"][0]["projects"] == "all"
    token = (await mint(app_client, body["access_token"], body["grant_id"])).json()
    services = services_of(app_client)
    async with services.db.transaction() as conn:
        future = await create_project(
            conn,
            organization_id=world.acme,
            name="Future",
            slug="future",
            source_language="en",
            now=services.clock.now(),
        )
    installation = token["installation_token"]
    assert await project_status(app_client, installation, future.id) == (200, "")


async def test_an_admin_narrows_the_grant_and_the_old_token_refuses_the_old_project(
    app_client: httpx.AsyncClient, world: World, projects: dict[str, str]
) -> None:
    body = await tokens_after(app_client, world, await consent_to_acme(app_client, world, []))
    grant_id = body["grant_id"]
    token = (await mint(app_client, body["access_token"], grant_id)).json()["installation_token"]
    assert await project_status(app_client, token, projects["app"]) == (200, "")

    page = await app_client.get("/settings/connected-apps")
    assert (
        "All projects" in page.text and f"/settings/connected-apps/{grant_id}/projects" in page.text
    )
    narrowed = await app_client.post(
        f"/settings/connected-apps/{grant_id}/projects",
        data={
            "csrf_token": csrf_from(page.text),
            mode_field(world.acme): "some",
            "project": projects["web"],
        },
        follow_redirects=False,
    )
    assert narrowed.status_code == 303
    assert narrowed.headers["location"] == f"/settings/connected-apps?updated={grant_id}"
    assert await project_status(app_client, token, projects["app"]) == (403, "wrong_project")
    assert await project_status(app_client, token, projects["web"]) == (200, "")
    services = services_of(app_client)
    async with services.db.transaction(readonly=True) as conn:
        grant = await grants.get_grant(conn, grant_id)
        (event,) = (
            await conn.execute(select(audit_events).where(audit_events.c.action == "grant.updated"))
        ).all()
    assert grant is not None and grant.project_ids == (projects["web"],)
    assert event.detail == {"project_ids": [projects["web"]], "previous_project_ids": None}
    assert event.actor == world.alice and event.grant_id == grant_id
    shown = await app_client.get(narrowed.headers["location"])
    assert "Projects updated" in shown.text

    widened = await app_client.post(
        f"/settings/connected-apps/{grant_id}/projects",
        data={"csrf_token": csrf_from(page.text), mode_field(world.acme): "all"},
        follow_redirects=False,
    )
    assert widened.status_code == 303
    assert await project_status(app_client, token, projects["app"]) == (200, "")


# --- hostile forms -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ([("MODE", "everything")], 400, "not one it offered"),
        ([("MODE", "some"), ("project", "UMBRELLA")], 400, "only choose projects"),
        ([("MODE", "some"), ("MODE", "all")], 400, "not one it offered"),
        ([("MODE", "some")], 422, "Choose at least one project of Acme"),
    ],
)
async def test_a_tampered_or_empty_project_choice_writes_nothing(
    app_client: httpx.AsyncClient,
    world: World,
    projects: dict[str, str],
    fields: list[tuple[str, str]],
    status: int,
    message: str,
) -> None:
    filled = [
        (
            mode_field(world.acme) if name == "MODE" else name,
            projects["elsewhere"] if value == "UMBRELLA" else value,
        )
        for name, value in fields
    ]
    refused = await consent_to_acme(app_client, world, filled)
    assert refused.status_code == status
    assert message in refused.text
    assert await stored_state(services_of(app_client)) == nothing_created()


async def test_changing_projects_needs_csrf_an_admin_role_and_an_offered_project(
    app_client: httpx.AsyncClient, world: World, projects: dict[str, str]
) -> None:
    body = await tokens_after(app_client, world, await consent_to_acme(app_client, world, []))
    grant_id = body["grant_id"]
    path = f"/settings/connected-apps/{grant_id}/projects"
    page = await app_client.get("/settings/connected-apps")
    csrf = csrf_from(page.text)
    some = mode_field(world.acme)
    no_csrf = await app_client.post(path, data={some: "some", "project": projects["web"]})
    foreign = await app_client.post(
        path, data={"csrf_token": csrf, some: "some", "project": projects["elsewhere"]}
    )
    empty = await app_client.post(path, data={"csrf_token": csrf, some: "some"})
    assert (no_csrf.status_code, foreign.status_code, empty.status_code) == (403, 400, 422)
    await sign_in_browser(app_client, world.carol)  # a member of Acme
    member_page = await app_client.get("/settings/connected-apps")
    member = await app_client.post(
        path,
        data={"csrf_token": csrf_from(member_page.text), some: "some", "project": projects["web"]},
    )
    assert member.status_code == 404
    async with services_of(app_client).db.transaction(readonly=True) as conn:
        grant = await grants.get_grant(conn, grant_id)
        updates = (
            await conn.execute(select(audit_events).where(audit_events.c.action == "grant.updated"))
        ).all()
    assert grant is not None and grant.project_ids is None
    assert updates == []
