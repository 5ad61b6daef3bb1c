"""Which changes write which events to the outbox, with which payload: project events reach
every app connected to the project's organization (and no other), installation-token
revocation reaches the token's app, a re-consent or a change of the grant's projects is
grant.updated, and a grant limited to other projects hears nothing of a project."""

from __future__ import annotations

import json

from sqlalchemy import text
from webhook_world import World

from factories import web_project
from i18n_connect import grants, installations
from i18n_connect.platform import content, keys, policies, translations
from i18n_connect.platform.projects import create_project
from i18n_connect.webhooks.events import EVENT_TYPES, revocation_reason

FIELDS = [{"name": "title", "type": "text", "localized": True}]


async def _outbox(world: World) -> list[tuple[str, dict[str, object]]]:
    async with world.services.db.transaction(readonly=True) as conn:
        rows = await conn.execute(
            text(
                "SELECT e.type, e.payload FROM webhook_deliveries d "
                "JOIN webhook_events e ON e.id = d.event_id ORDER BY d.seq"
            )
        )
        return [(row.type, json.loads(row.payload)["data"]) for row in rows]


async def _consent(
    world: World,
    organization_id: str,
    scope: tuple[str, ...],
    projects: grants.Projects = None,
) -> str:
    async with world.services.db.transaction() as conn:
        (grant,) = await grants.consent(
            conn,
            user_id=world.ada,
            client_id=world.client_id,
            organization_ids=[organization_id],
            scope=scope,
            now=world.services.clock.now(),
            projects={organization_id: projects},
        )
    return grant.id


async def test_project_changes_reach_the_apps_connected_to_its_organization(world: World) -> None:
    await world.endpoint("https://hooks.example.com/x", list(EVENT_TYPES))
    now = world.services.clock.now()
    async with world.services.db.transaction() as conn:
        globex_project = await web_project(conn, world.globex, now)  # no grant there yet
    await _consent(world, world.acme, ("org:read",))
    async with world.services.db.transaction() as conn:
        project = await web_project(conn, world.acme, now)
        await translations.publish_translations(conn, project.id, ["de"], now)
        await translations.publish_translations(conn, project.id, ["de"], now)  # nothing new
        await keys.delete_keys(conn, project.id, ["home.title"], may_unpublish=True, now=now)
        await content.create_model(
            conn, project.id, slug="page", name="Page", fields=FIELDS, now=now
        )
        await content.save_entry(conn, project.id, "page", "home", {"title": {"en": "Hi"}}, now)
        await content.publish_entries(conn, project.id, "page", None, now)
        await translations.publish_translations(conn, globex_project.id, None, now)
    outbox = await _outbox(world)
    assert [kind for kind, _ in outbox] == [
        "grant.created",
        "keys.changed",  # created, by web_project (a draft translation is no event)
        "translations.published",
        "keys.changed",  # deleted
        "content.published",
    ]
    base = {"organization_id": world.acme, "project_id": project.id}
    assert outbox[1][1] == {**base, "change": "created", "count": 1}
    assert outbox[2][1] == {**base, "languages": ["de"]}
    assert outbox[3][1] == {**base, "change": "deleted", "count": 1}
    assert outbox[4][1] == {**base, "model": "page", "entries": ["home"]}


async def test_reconsent_is_an_update_and_a_revoked_installation_token_is_announced(
    world: World,
) -> None:
    await world.endpoint("https://hooks.example.com/x", list(EVENT_TYPES))
    grant_id = await _consent(world, world.acme, ("org:read",))
    assert await _consent(world, world.acme, ("org:read", "projects:read")) == grant_id
    claims = await world.services.tokens.verify(
        (
            await world.services.tokens.issue(
                user_id=world.ada,
                client_id=world.client_id,
                scope=["org:read"],
                grant_ids=[grant_id],
                audience=world.services.settings.api_resource,
            )
        ).token,
        audience=world.services.settings.api_resource,
    )
    now = world.services.clock.now()
    async with world.services.db.transaction() as conn:
        minted = await installations.mint(
            conn,
            claims=claims,
            grant_id=grant_id,
            project_ids=None,
            scopes=None,
            now=now,
            hasher=world.services.hasher,
            mints_per_minute=60,
        )
        assert await installations.revoke_token(
            conn, minted.token, client_id=world.client_id, now=now, hasher=world.services.hasher
        )
    outbox = await _outbox(world)
    assert [kind for kind, _ in outbox] == [
        "grant.created",
        "grant.updated",
        "installation_token.revoked",
    ]
    assert outbox[1][1]["scope"] == ["org:read", "projects:read"]
    assert set(outbox[2][1]) == {"grant_id", "organization_id", "token_id"}
    assert minted.token not in json.dumps(outbox)


async def test_changing_a_grants_projects_is_announced_and_narrows_its_project_events(
    world: World,
) -> None:
    await world.endpoint("https://hooks.example.com/x", list(EVENT_TYPES))
    now = world.services.clock.now()
    async with world.services.db.transaction() as conn:
        first, second = [
            await create_project(
                conn,
                organization_id=world.acme,
                name=slug,
                slug=slug,
                source_language="en",
                target_languages=("de",),
                now=now,
            )
            for slug in ("first", "second")
        ]
    grant_id = await _consent(world, world.acme, ("org:read",), (first.id,))
    async with world.services.db.transaction() as conn:
        await keys.create_keys(conn, second.id, {"a": "A"}, now)  # not covered: no event
        await keys.create_keys(conn, first.id, {"a": "A"}, now)
        grant = await grants.get_grant(conn, grant_id)
        assert grant is not None
        assert await grants.set_projects(conn, grant, None, actor=world.ada, now=now)
        await keys.create_keys(conn, second.id, {"b": "B"}, now)
    outbox = await _outbox(world)
    assert [kind for kind, _ in outbox] == [
        "grant.created",
        "keys.changed",
        "grant.updated",
        "keys.changed",
    ]
    assert outbox[0][1]["projects"] == [first.id]
    assert outbox[1][1]["project_id"] == first.id
    assert outbox[2][1] == {
        "grant_id": grant_id,
        "organization_id": world.acme,
        "user_id": world.ada,
        "scope": ["org:read"],
        "projects": "all",
    }
    assert outbox[3][1] == {
        "organization_id": world.acme,
        "project_id": second.id,
        "change": "created",
        "count": 1,
    }


def test_every_revocation_path_has_a_published_reason() -> None:
    assert [
        revocation_reason(internal)
        for internal in (
            "connected_apps",
            "connected_apps.admin",
            "membership.removed",
            "membership_lost",
            "partner_api",
            "reuse",
            "client_deleted",
            "cli",
            "organization_policy",
            "organization_admin",
        )
    ] == [
        "user",
        "organization_admin",
        "membership_removed",
        "membership_removed",
        "partner",
        "refresh_token_reuse",
        "app_deleted",
        "operator",
        "organization_policy",
        "organization_admin",
    ]


async def test_a_blocking_policy_and_revoke_all_announce_each_revoked_grant(world: World) -> None:
    """An owner's policy change and one-click "revoke all" reach the app as grant.revoked with
    the reasons it reads (organization_policy, organization_admin); nothing else is sent."""
    await world.endpoint("https://hooks.example.com/x", ["grant.revoked"])
    blocked = await _consent(world, world.acme, ("org:read",))
    revoked_all = await _consent(world, world.globex, ("org:read",))
    now = world.services.clock.now()
    async with world.services.db.transaction() as conn:
        assert (
            await policies.change_list(
                conn,
                organization_id=world.acme,
                list_name="blocked",
                client_id=world.client_id,
                listed=True,
                actor=world.ada,
                now=now,
            )
            == 1
        )
        assert (
            await policies.revoke_app(
                conn,
                organization_id=world.globex,
                client_id=world.client_id,
                actor=world.ada,
                now=now,
            )
            == 1
        )
    outbox = await _outbox(world)
    assert [(kind, data["grant_id"], data["reason"]) for kind, data in outbox] == [
        ("grant.revoked", blocked, "organization_policy"),
        ("grant.revoked", revoked_all, "organization_admin"),
    ]
    assert [data["organization_id"] for _, data in outbox] == [world.acme, world.globex]
