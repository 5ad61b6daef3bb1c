"""``i18n-connect orgs``: organizations, their members and roles."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.cli.lookups import organization_by_slug, user_by_email
from i18n_connect.cli.output import JsonOption, emit, iso
from i18n_connect.cli.runner import run_async
from i18n_connect.errors import ConflictError
from i18n_connect.platform import organizations as orgs
from i18n_connect.platform.accounts import normalize_email
from i18n_connect.services import Services

__all__ = ["group"]

group = typer.Typer(help="Organizations and their members.", no_args_is_help=True)

OrgOption = Annotated[str, typer.Option("--org", help="The organization's slug.")]
EmailOption = Annotated[str, typer.Option(help="The member's email.")]
RoleOption = Annotated[str, typer.Option(help="owner, admin or member.")]


def _organization_json(org: orgs.Organization) -> dict[str, Any]:
    return {"id": org.id, "slug": org.slug, "name": org.name, "created_at": iso(org.created_at)}


@group.command("create")
def orgs_create(
    slug: Annotated[str, typer.Option(help="2-64 lowercase letters, digits or hyphens.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    owner: Annotated[str, typer.Option(help="Email of the existing user who will own it.")],
    as_json: JsonOption = False,
) -> None:
    """Create an organization owned by an existing user.

    Example: i18n-connect orgs create --slug acme --name "Acme Inc." --owner ada@example.com
    """

    async def work(services: Services) -> orgs.Organization:
        async with services.db.transaction() as conn:
            user = await user_by_email(conn, owner)
            return await orgs.create_organization(
                conn,
                slug=slug,
                name=name,
                owner_user_id=user.id,
                now=services.clock.now(),
                actor="cli",
            )

    org = run_async(work)
    emit(_organization_json(org), as_json, f"created organization {org.slug} ({org.id})")


MembershipChange = Callable[[AsyncConnection, str, str, datetime], Awaitable[None]]


def _change_membership(org_slug: str, email: str, as_json: bool, change: MembershipChange) -> None:
    """Apply ``change(conn, organization_id, user_id, now)`` and print the resulting role."""

    async def work(services: Services) -> dict[str, Any]:
        async with services.db.transaction() as conn:
            org = await organization_by_slug(conn, org_slug)
            user = await user_by_email(conn, email)
            await change(conn, org.id, user.id, services.clock.now())
            role = await orgs.membership_role(conn, org.id, user.id)
        return {
            "organization": org.slug,
            "organization_id": org.id,
            "email": user.email,
            "user_id": user.id,
            "role": role,
        }

    result = run_async(work)
    member, org = result["email"], result["organization"]
    text = (
        f"{member} is now {result['role']} of {org}"
        if result["role"]
        else f"{member} is no longer a member of {org}"
    )
    emit(result, as_json, text)


@group.command("add-member")
def orgs_add_member(
    org: OrgOption, email: EmailOption, role: RoleOption, as_json: JsonOption = False
) -> None:
    """Add an existing user to an organization.

    Example: i18n-connect orgs add-member --org acme --email bob@example.com --role admin
    """

    async def change(conn: AsyncConnection, org_id: str, user_id: str, now: datetime) -> None:
        current = await orgs.membership_role(conn, org_id, user_id)
        if current is not None:
            raise ConflictError(
                f"{normalize_email(email)} is already {current} of {org}: "
                "change the role with 'i18n-connect orgs set-role'"
            )
        await orgs.add_member(
            conn, organization_id=org_id, user_id=user_id, role=role, now=now, actor="cli"
        )

    _change_membership(org, email, as_json, change)


@group.command("set-role")
def orgs_set_role(
    org: OrgOption, email: EmailOption, role: RoleOption, as_json: JsonOption = False
) -> None:
    """Change a member's role. Demoting to member revokes their grants on the organization;
    the last owner cannot be demoted.

    Example: i18n-connect orgs set-role --org acme --email bob@example.com --role member
    """

    async def change(conn: AsyncConnection, org_id: str, user_id: str, now: datetime) -> None:
        await orgs.set_role(
            conn, organization_id=org_id, user_id=user_id, role=role, now=now, actor="cli"
        )

    _change_membership(org, email, as_json, change)


@group.command("remove-member")
def orgs_remove_member(org: OrgOption, email: EmailOption, as_json: JsonOption = False) -> None:
    """Remove a member and revoke their grants on the organization; the last owner stays.

    Example: i18n-connect orgs remove-member --org acme --email bob@example.com
    """

    async def change(conn: AsyncConnection, org_id: str, user_id: str, now: datetime) -> None:
        await orgs.remove_member(
            conn, organization_id=org_id, user_id=user_id, now=now, actor="cli"
        )

    _change_membership(org, email, as_json, change)


@group.command("list")
def orgs_list(as_json: JsonOption = False) -> None:
    """List every organization with its number of members.

    Example: i18n-connect orgs list --json
    """

    async def work(services: Services) -> list[tuple[orgs.Organization, int]]:
        async with services.db.transaction(readonly=True) as conn:
            return await orgs.list_organizations(conn)

    found = run_async(work)
    rows = [{**_organization_json(org), "members": members} for org, members in found]
    lines = [f"{'SLUG':<24} {'MEMBERS':>7}  {'ID':<28} NAME"]
    lines += [f"{r['slug']:<24} {r['members']:>7}  {r['id']:<28} {r['name']}" for r in rows]
    emit({"organizations": rows}, as_json, "\n".join(lines) if rows else "no organizations yet")


@group.command("members")
def orgs_members(org: OrgOption, as_json: JsonOption = False) -> None:
    """List an organization's members with their roles, owners first.

    Example: i18n-connect orgs members --org acme
    """

    async def work(services: Services) -> tuple[orgs.Organization, list[orgs.Member]]:
        async with services.db.transaction(readonly=True) as conn:
            organization = await organization_by_slug(conn, org)
            return organization, await orgs.list_members(conn, organization.id)

    organization, members = run_async(work)
    rows = [
        {
            "user_id": m.user_id,
            "email": m.email,
            "name": m.name,
            "role": m.role,
            "joined_at": iso(m.joined_at),
        }
        for m in members
    ]
    lines = [f"{'ROLE':<8} {'EMAIL':<32} NAME"]
    lines += [f"{r['role']:<8} {r['email']:<32} {r['name']}" for r in rows]
    emit({**_organization_json(organization), "members": rows}, as_json, "\n".join(lines))
