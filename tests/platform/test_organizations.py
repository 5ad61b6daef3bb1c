"""Organizations and memberships on both backends: slugs, roles, the last owner, and the
revocation of a user's grants when they are removed or demoted."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from factories import add_grant_tokens
from i18n_connect.clock import FrozenClock
from i18n_connect.errors import ConflictError, InvalidRequest, NotFound
from i18n_connect.platform import organizations as orgs
from i18n_connect.platform.accounts import User, create_user
from i18n_connect.platform.organizations import Organization
from i18n_connect.services import Services
from i18n_connect.storage.oauth_tables import (
    grants,
    installation_tokens,
    oauth_clients,
    refresh_tokens,
)
from i18n_connect.storage.tables import audit_events, memberships, organizations


async def _user(conn: AsyncConnection, clock: FrozenClock, email: str) -> User:
    return await create_user(
        conn, email=email, password="correct horse", name=None, now=clock.now()
    )


async def _acme_with_bob(
    conn: AsyncConnection, clock: FrozenClock, bob_role: str | None = None
) -> tuple[User, User, Organization]:
    """Alice owning Acme, and Bob: a member of Acme with ``bob_role``, or not at all."""
    alice = await _user(conn, clock, "alice@example.com")
    bob = await _user(conn, clock, "bob@example.com")
    acme = await orgs.create_organization(
        conn, slug="acme", name="Acme", owner_user_id=alice.id, now=clock.now()
    )
    if bob_role is not None:
        await orgs.add_member(
            conn, organization_id=acme.id, user_id=bob.id, role=bob_role, now=clock.now()
        )
    return alice, bob, acme


async def _grant(
    conn: AsyncConnection, clock: FrozenClock, *, user_id: str, organization_id: str, suffix: str
) -> str:
    """A live grant with one refresh token and one installation token, inserted directly."""
    now = clock.now()
    client_id = f"client-{suffix}"
    await conn.execute(
        insert(oauth_clients).values(
            id=client_id,
            name="Partner",
            secret_hash=None,
            token_endpoint_auth_method="none",
            redirect_uris=["http://127.0.0.1:8001/cb"],
            origin="cli",
            verified=False,
            created_at=now,
        )
    )
    grant_id = f"grt_{suffix}"
    await conn.execute(
        insert(grants).values(
            id=grant_id,
            user_id=user_id,
            client_id=client_id,
            organization_id=organization_id,
            scope="org:read",
            created_at=now,
            updated_at=now,
        )
    )
    await add_grant_tokens(conn, grant_id, organization_id=organization_id, tag=suffix, now=now)
    return grant_id


async def _grant_state(conn: AsyncConnection, grant_id: str) -> tuple[bool, int, bool]:
    """(grant revoked?, refresh tokens left, installation token revoked?)"""
    revoked_at = await conn.scalar(select(grants.c.revoked_at).where(grants.c.id == grant_id))
    refresh_left = await conn.scalar(
        select(func.count())
        .select_from(refresh_tokens)
        .where(refresh_tokens.c.grant_id == grant_id)
    )
    installation_revoked_at = await conn.scalar(
        select(installation_tokens.c.revoked_at).where(installation_tokens.c.grant_id == grant_id)
    )
    return revoked_at is not None, int(refresh_left or 0), installation_revoked_at is not None


async def test_creating_an_organization_makes_the_creator_its_owner(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        alice = await _user(conn, clock, "alice@example.com")
        org = await orgs.create_organization(
            conn, slug="acme", name=" Acme Corp ", owner_user_id=alice.id, now=clock.now()
        )
    assert org.id.startswith("org_")
    assert (org.slug, org.name, org.created_at) == ("acme", "Acme Corp", clock.now())
    async with services.db.transaction(readonly=True) as conn:
        assert await orgs.get_organization(conn, org.id) == org
        assert await orgs.get_organization_by_slug(conn, "acme") == org
        assert await orgs.membership_role(conn, org.id, alice.id) == "owner"
        assert await orgs.list_memberships(conn, alice.id) == [(org, "owner")]
        assert await orgs.administered_organizations(conn, alice.id) == [org]
        assert await orgs.list_organizations(conn) == [(org, 1)]


async def test_duplicate_slug_is_a_conflict_and_adds_nothing(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        alice = await _user(conn, clock, "alice@example.com")
        await orgs.create_organization(
            conn, slug="acme", name="Acme", owner_user_id=alice.id, now=clock.now()
        )
    with pytest.raises(ConflictError, match="slug 'acme' already exists"):
        async with services.db.transaction() as conn:
            await orgs.create_organization(
                conn, slug="acme", name="Other", owner_user_id=alice.id, now=clock.now()
            )
    async with services.db.transaction(readonly=True) as conn:
        assert await conn.scalar(select(func.count()).select_from(organizations)) == 1
        assert await conn.scalar(select(func.count()).select_from(memberships)) == 1
        assert await _actions(conn) == ["organization.created"]


@pytest.mark.parametrize(
    "slug",
    ["a", "Acme", "acme_corp", "-acme", "acme-", "acme corp", "a" * 65, "", "ácme"],
    ids=[
        "too-short",
        "upper",
        "underscore",
        "lead-hyphen",
        "trail-hyphen",
        "space",
        "too-long",
        "empty",
        "non-ascii",
    ],
)
async def test_malformed_slug_is_an_invalid_request(
    services: Services, clock: FrozenClock, slug: str
) -> None:
    async with services.db.transaction() as conn:
        alice = await _user(conn, clock, "alice@example.com")
    with pytest.raises(InvalidRequest, match="lowercase letters, digits or hyphens"):
        async with services.db.transaction() as conn:
            await orgs.create_organization(
                conn, slug=slug, name="Acme", owner_user_id=alice.id, now=clock.now()
            )
    async with services.db.transaction(readonly=True) as conn:
        assert await conn.scalar(select(func.count()).select_from(organizations)) == 0


async def test_slug_boundaries_are_accepted(services: Services, clock: FrozenClock) -> None:
    async with services.db.transaction() as conn:
        alice = await _user(conn, clock, "alice@example.com")
        for slug in ("ab", "a" * 64, "acme-2"):
            org = await orgs.create_organization(
                conn, slug=slug, name="X", owner_user_id=alice.id, now=clock.now()
            )
            assert org.slug == slug


async def test_empty_name_and_unknown_owner_are_refused(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        alice = await _user(conn, clock, "alice@example.com")
    with pytest.raises(InvalidRequest, match="name must be"):
        async with services.db.transaction() as conn:
            await orgs.create_organization(
                conn, slug="acme", name="  ", owner_user_id=alice.id, now=clock.now()
            )
    with pytest.raises(NotFound, match="no such user"):
        async with services.db.transaction() as conn:
            await orgs.create_organization(
                conn, slug="acme", name="Acme", owner_user_id="usr_nobody", now=clock.now()
            )
    async with services.db.transaction(readonly=True) as conn:
        assert await conn.scalar(select(func.count()).select_from(organizations)) == 0
        assert await _actions(conn) == []


async def test_members_are_listed_with_roles_and_only_admins_administer(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        alice = await _user(conn, clock, "alice@example.com")
        bob = await _user(conn, clock, "bob@example.com")
        acme = await orgs.create_organization(
            conn, slug="acme", name="Acme", owner_user_id=alice.id, now=clock.now()
        )
        globex = await orgs.create_organization(
            conn, slug="globex", name="Globex", owner_user_id=alice.id, now=clock.now()
        )
        initech = await orgs.create_organization(
            conn, slug="initech", name="Initech", owner_user_id=alice.id, now=clock.now()
        )
        await orgs.add_member(
            conn, organization_id=acme.id, user_id=bob.id, role="owner", now=clock.now()
        )
        await orgs.add_member(
            conn, organization_id=globex.id, user_id=bob.id, role="admin", now=clock.now()
        )
        await orgs.add_member(
            conn, organization_id=initech.id, user_id=bob.id, role="member", now=clock.now()
        )
    async with services.db.transaction(readonly=True) as conn:
        assert await orgs.list_memberships(conn, bob.id) == [
            (acme, "owner"),
            (globex, "admin"),
            (initech, "member"),
        ]
        assert await orgs.administered_organizations(conn, bob.id) == [acme, globex]
        assert await orgs.membership_role(conn, initech.id, bob.id) == "member"
        assert await orgs.list_organizations(conn) == [(acme, 2), (globex, 2), (initech, 2)]
        added = (
            await conn.execute(
                select(
                    audit_events.c.action,
                    audit_events.c.actor,
                    audit_events.c.user_id,
                    audit_events.c.detail,
                )
                .where(audit_events.c.organization_id == initech.id)
                .order_by(audit_events.c.id)
            )
        ).all()
        assert [tuple(row) for row in added] == [
            (
                "organization.created",
                "system",
                alice.id,
                {"slug": "initech", "name": "Initech", "role": "owner"},
            ),
            ("membership.added", "system", bob.id, {"role": "member"}),
        ]


async def test_members_are_listed_owners_first_then_by_email(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        zoe = await _user(conn, clock, "zoe@example.com")
        bob = await _user(conn, clock, "bob@example.com")
        amy = await _user(conn, clock, "amy@example.com")
        acme = await orgs.create_organization(
            conn, slug="acme", name="Acme", owner_user_id=zoe.id, now=clock.now()
        )
        clock.advance(minutes=1)
        await orgs.add_member(
            conn, organization_id=acme.id, user_id=bob.id, role="member", now=clock.now()
        )
        await orgs.add_member(
            conn, organization_id=acme.id, user_id=amy.id, role="admin", now=clock.now()
        )
    async with services.db.transaction(readonly=True) as conn:
        members = await orgs.list_members(conn, acme.id)
        assert await orgs.list_members(conn, "org_missing") == []
    assert [(m.email, m.role) for m in members] == [
        ("zoe@example.com", "owner"),
        ("amy@example.com", "admin"),
        ("bob@example.com", "member"),
    ]
    assert members[0] == orgs.Member(
        user_id=zoe.id, email=zoe.email, name="zoe", role="owner", joined_at=acme.created_at
    )
    assert members[2].joined_at == clock.now()


async def _actions(conn: AsyncConnection) -> list[str]:
    return list(await conn.scalars(select(audit_events.c.action).order_by(audit_events.c.id)))


async def _events(conn: AsyncConnection, organization_id: str) -> list[tuple[object, ...]]:
    """The organization's events as (action, actor, user_id, detail), oldest first."""
    rows = await conn.execute(
        select(
            audit_events.c.action,
            audit_events.c.actor,
            audit_events.c.user_id,
            audit_events.c.detail,
        )
        .where(audit_events.c.organization_id == organization_id)
        .order_by(audit_events.c.id)
    )
    return [tuple(row) for row in rows]


async def test_creation_and_every_membership_change_name_the_member_and_the_actor(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        alice = await _user(conn, clock, "alice@example.com")
        bob = await _user(conn, clock, "bob@example.com")
        acme = await orgs.create_organization(
            conn, slug="acme", name="Acme", owner_user_id=alice.id, now=clock.now(), actor="cli"
        )
        await orgs.add_member(
            conn,
            organization_id=acme.id,
            user_id=bob.id,
            role="member",
            now=clock.now(),
            actor=alice.id,
        )
        await orgs.set_role(
            conn,
            organization_id=acme.id,
            user_id=bob.id,
            role="admin",
            now=clock.now(),
            actor="cli",
        )
        # the same role again changes nothing and records nothing
        await orgs.set_role(
            conn,
            organization_id=acme.id,
            user_id=bob.id,
            role="admin",
            now=clock.now(),
            actor="cli",
        )
        await orgs.remove_member(
            conn, organization_id=acme.id, user_id=bob.id, now=clock.now(), actor=alice.id
        )
    # refused changes record nothing either
    for demote in (True, False):
        with pytest.raises(ConflictError, match="at least one owner"):
            async with services.db.transaction() as conn:
                if demote:
                    await orgs.set_role(
                        conn,
                        organization_id=acme.id,
                        user_id=alice.id,
                        role="member",
                        now=clock.now(),
                    )
                else:
                    await orgs.remove_member(
                        conn, organization_id=acme.id, user_id=alice.id, now=clock.now()
                    )
    async with services.db.transaction(readonly=True) as conn:
        assert await _events(conn, acme.id) == [
            (
                "organization.created",
                "cli",
                alice.id,
                {"slug": "acme", "name": "Acme", "role": "owner"},
            ),
            ("membership.added", alice.id, bob.id, {"role": "member"}),
            ("membership.role_changed", "cli", bob.id, {"from": "member", "to": "admin"}),
            ("membership.removed", alice.id, bob.id, {"role": "admin"}),
        ]


async def test_add_member_refuses_bad_role_existing_member_and_unknowns(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        alice, bob, acme = await _acme_with_bob(conn, clock)
    cases: list[tuple[dict[str, str], type[Exception], str]] = [
        ({"user_id": bob.id, "role": "superuser"}, InvalidRequest, "unknown role 'superuser'"),
        ({"user_id": alice.id, "role": "admin"}, ConflictError, "already a member"),
        ({"user_id": "usr_nobody", "role": "admin"}, NotFound, "no such user"),
        ({"user_id": bob.id, "role": "admin", "organization_id": "org_x"}, NotFound, "no such org"),
    ]
    for arguments, error, message in cases:
        with pytest.raises(error, match=message):
            async with services.db.transaction() as conn:
                await orgs.add_member(
                    conn, **{"organization_id": acme.id, **arguments}, now=clock.now()
                )
    async with services.db.transaction(readonly=True) as conn:
        assert await orgs.membership_role(conn, acme.id, alice.id) == "owner"
        assert await orgs.membership_role(conn, acme.id, bob.id) is None


async def test_the_last_owner_can_be_neither_demoted_nor_removed(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        alice = await _user(conn, clock, "alice@example.com")
        acme = await orgs.create_organization(
            conn, slug="acme", name="Acme", owner_user_id=alice.id, now=clock.now()
        )
    with pytest.raises(ConflictError, match="at least one owner"):
        async with services.db.transaction() as conn:
            await orgs.set_role(
                conn, organization_id=acme.id, user_id=alice.id, role="admin", now=clock.now()
            )
    with pytest.raises(ConflictError, match="at least one owner"):
        async with services.db.transaction() as conn:
            await orgs.remove_member(
                conn, organization_id=acme.id, user_id=alice.id, now=clock.now()
            )
    async with services.db.transaction(readonly=True) as conn:
        assert await orgs.membership_role(conn, acme.id, alice.id) == "owner"


async def test_an_owner_can_step_down_when_another_owner_remains(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        alice, bob, acme = await _acme_with_bob(conn, clock, "owner")
        await orgs.set_role(
            conn, organization_id=acme.id, user_id=alice.id, role="admin", now=clock.now()
        )
    with pytest.raises(ConflictError, match="at least one owner"):
        async with services.db.transaction() as conn:
            await orgs.remove_member(conn, organization_id=acme.id, user_id=bob.id, now=clock.now())
    async with services.db.transaction() as conn:
        await orgs.remove_member(conn, organization_id=acme.id, user_id=alice.id, now=clock.now())
    async with services.db.transaction(readonly=True) as conn:
        assert await orgs.membership_role(conn, acme.id, alice.id) is None
        assert await orgs.membership_role(conn, acme.id, bob.id) == "owner"


async def test_role_changes_of_non_members_are_not_found(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        _, bob, acme = await _acme_with_bob(conn, clock)
    with pytest.raises(NotFound, match="not a member"):
        async with services.db.transaction() as conn:
            await orgs.set_role(
                conn, organization_id=acme.id, user_id=bob.id, role="admin", now=clock.now()
            )
    with pytest.raises(NotFound, match="not a member"):
        async with services.db.transaction() as conn:
            await orgs.remove_member(conn, organization_id=acme.id, user_id=bob.id, now=clock.now())
    with pytest.raises(NotFound, match="no such organization"):
        async with services.db.transaction() as conn:
            await orgs.set_role(
                conn, organization_id="org_nope", user_id=bob.id, role="admin", now=clock.now()
            )


async def test_demotion_to_member_revokes_only_that_users_grants_on_that_organization(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        alice = await _user(conn, clock, "alice@example.com")
        bob = await _user(conn, clock, "bob@example.com")
        acme = await orgs.create_organization(
            conn, slug="acme", name="Acme", owner_user_id=alice.id, now=clock.now()
        )
        globex = await orgs.create_organization(
            conn, slug="globex", name="Globex", owner_user_id=alice.id, now=clock.now()
        )
        for org in (acme, globex):
            await orgs.add_member(
                conn, organization_id=org.id, user_id=bob.id, role="admin", now=clock.now()
            )
        bobs_acme = await _grant(conn, clock, user_id=bob.id, organization_id=acme.id, suffix="1")
        bobs_globex = await _grant(
            conn, clock, user_id=bob.id, organization_id=globex.id, suffix="2"
        )
        alices_acme = await _grant(
            conn, clock, user_id=alice.id, organization_id=acme.id, suffix="3"
        )
    clock.advance(minutes=5)
    async with services.db.transaction() as conn:
        await orgs.set_role(
            conn,
            organization_id=acme.id,
            user_id=bob.id,
            role="member",
            now=clock.now(),
            actor=alice.id,
        )
    async with services.db.transaction(readonly=True) as conn:
        assert await orgs.membership_role(conn, acme.id, bob.id) == "member"
        assert await _grant_state(conn, bobs_acme) == (True, 0, True)
        assert await _grant_state(conn, bobs_globex) == (False, 1, False)
        assert await _grant_state(conn, alices_acme) == (False, 1, False)
        revoked = (
            await conn.execute(select(grants.c.revoked_at).where(grants.c.id == bobs_acme))
        ).scalar_one()
        assert revoked == clock.now()
        events = (
            await conn.execute(
                select(audit_events.c.action, audit_events.c.actor, audit_events.c.detail).where(
                    audit_events.c.grant_id == bobs_acme
                )
            )
        ).all()
        assert [(e.action, e.actor, e.detail) for e in events] == [
            ("grant.revoked", alice.id, {"reason": "membership.demoted"})
        ]


async def test_promotion_and_owner_to_admin_keep_grants(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        _, bob, acme = await _acme_with_bob(conn, clock, "owner")
        grant_id = await _grant(conn, clock, user_id=bob.id, organization_id=acme.id, suffix="1")
        await orgs.set_role(
            conn, organization_id=acme.id, user_id=bob.id, role="admin", now=clock.now()
        )
        await orgs.set_role(
            conn, organization_id=acme.id, user_id=bob.id, role="owner", now=clock.now()
        )
    async with services.db.transaction(readonly=True) as conn:
        assert await _grant_state(conn, grant_id) == (False, 1, False)


async def test_removing_a_member_revokes_their_grants_on_the_organization(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        _, bob, acme = await _acme_with_bob(conn, clock, "admin")
        grant_id = await _grant(conn, clock, user_id=bob.id, organization_id=acme.id, suffix="1")
    async with services.db.transaction() as conn:
        await orgs.remove_member(
            conn, organization_id=acme.id, user_id=bob.id, now=clock.now(), actor="cli"
        )
    async with services.db.transaction(readonly=True) as conn:
        assert await orgs.membership_role(conn, acme.id, bob.id) is None
        assert await _grant_state(conn, grant_id) == (True, 0, True)
        actions = (
            await conn.scalars(
                select(audit_events.c.action)
                .where(audit_events.c.user_id == bob.id)
                .order_by(audit_events.c.id)
            )
        ).all()
        assert actions == ["membership.added", "membership.removed", "grant.revoked"]


async def test_a_refused_removal_revokes_nothing(services: Services, clock: FrozenClock) -> None:
    async with services.db.transaction() as conn:
        alice = await _user(conn, clock, "alice@example.com")
        acme = await orgs.create_organization(
            conn, slug="acme", name="Acme", owner_user_id=alice.id, now=clock.now()
        )
        grant_id = await _grant(conn, clock, user_id=alice.id, organization_id=acme.id, suffix="1")
    with pytest.raises(ConflictError):
        async with services.db.transaction() as conn:
            await orgs.remove_member(
                conn, organization_id=acme.id, user_id=alice.id, now=clock.now()
            )
    async with services.db.transaction(readonly=True) as conn:
        assert await _grant_state(conn, grant_id) == (False, 1, False)


async def test_two_owners_demoting_each_other_at_once_leave_one_owner(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        alice, bob, acme = await _acme_with_bob(conn, clock, "owner")

    async def demote(user_id: str) -> None:
        async with services.db.transaction() as conn:
            await orgs.set_role(
                conn, organization_id=acme.id, user_id=user_id, role="member", now=clock.now()
            )

    async with services.db.transaction() as first:
        await orgs.set_role(
            first, organization_id=acme.id, user_id=alice.id, role="member", now=clock.now()
        )
        second = asyncio.create_task(demote(bob.id))
        await asyncio.sleep(0.3)  # let the second transaction reach the organization lock
        assert not second.done()
    with pytest.raises(ConflictError, match="at least one owner"):
        await second
    async with services.db.transaction(readonly=True) as conn:
        assert await orgs.membership_role(conn, acme.id, alice.id) == "member"
        assert await orgs.membership_role(conn, acme.id, bob.id) == "owner"


async def test_two_concurrent_creations_of_one_slug_give_one_organization_and_a_conflict(
    services: Services, clock: FrozenClock
) -> None:
    async with services.db.transaction() as conn:
        alice = await _user(conn, clock, "alice@example.com")

    async def create(name: str) -> orgs.Organization:
        async with services.db.transaction() as conn:
            return await orgs.create_organization(
                conn, slug="acme", name=name, owner_user_id=alice.id, now=clock.now()
            )

    async with services.db.transaction() as first:
        winner = await orgs.create_organization(
            first, slug="acme", name="First", owner_user_id=alice.id, now=clock.now()
        )
        second = asyncio.create_task(create("Second"))
        await asyncio.sleep(0.3)  # let the second insert wait on the first one's lock
    with pytest.raises(ConflictError, match="slug 'acme' already exists"):
        await second
    async with services.db.transaction(readonly=True) as conn:
        assert await orgs.list_organizations(conn) == [(winner, 1)]
