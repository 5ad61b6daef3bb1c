"""``i18n-connect grants``: listing and revoking grants."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import grants
from i18n_connect.cli.lookups import organization_by_slug, user_by_email
from i18n_connect.cli.output import JsonOption, emit, iso
from i18n_connect.cli.runner import run_async
from i18n_connect.errors import NotFound
from i18n_connect.oauth.clients import get_client
from i18n_connect.platform import accounts
from i18n_connect.platform import organizations as orgs
from i18n_connect.services import Services

__all__ = ["group"]

group = typer.Typer(
    help="Grants: a user's consent for a client on an organization.", no_args_is_help=True
)


async def _grant_json(conn: AsyncConnection, grant: grants.Grant) -> dict[str, Any]:
    user = await accounts.get_user(conn, grant.user_id)
    org = await orgs.get_organization(conn, grant.organization_id)
    client = await get_client(conn, grant.client_id)
    return {
        "id": grant.id,
        "user_id": grant.user_id,
        "user_email": user.email if user else None,
        "client_id": grant.client_id,
        "client_name": client.name if client else None,
        "organization_id": grant.organization_id,
        "organization": org.slug if org else None,
        "scope": " ".join(grant.scope),
        "created_at": iso(grant.created_at),
        "updated_at": iso(grant.updated_at),
        "last_used_at": iso(grant.last_used_at) if grant.last_used_at else None,
        "revoked_at": iso(grant.revoked_at) if grant.revoked_at else None,
        "revoked_by": grant.revoked_by,
    }


@group.command("list")
def grants_list(
    user: Annotated[str | None, typer.Option(help="Only grants given by this email.")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Only this organization.")] = None,
    include_revoked: Annotated[
        bool, typer.Option("--include-revoked", help="Show revoked grants too.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List grants, oldest first (live ones unless --include-revoked), with the app each was
    given to.

    Example: i18n-connect grants list --user ada@example.com --org acme --json
    """

    async def work(services: Services) -> list[dict[str, Any]]:
        async with services.db.transaction(readonly=True) as conn:
            user_id = (await user_by_email(conn, user)).id if user else None
            org_id = (await organization_by_slug(conn, org)).id if org else None
            found = await grants.list_grants(
                conn, user_id=user_id, organization_id=org_id, include_revoked=include_revoked
            )
            return [await _grant_json(conn, grant) for grant in found]

    rows = run_async(work)
    lines = [f"{'ID':<28} {'ORGANIZATION':<16} {'USER':<24} {'APP':<24} {'CLIENT':<28} SCOPE"]
    lines += [
        f"{r['id']:<28} {r['organization'] or '?':<16} {r['user_email'] or '?':<24} "
        f"{r['client_name'] or '?':<24} {r['client_id']:<28} {r['scope']}"
        + (" (revoked)" if r["revoked_at"] else "")
        for r in rows
    ]
    emit({"grants": rows}, as_json, "\n".join(lines) if rows else "no grants")


@group.command("revoke")
def grants_revoke(
    grant_id: Annotated[str, typer.Argument(help="The grant's id (grt_...).")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a grant: its refresh tokens are deleted and its installation tokens stop working.
    Revoking a revoked grant changes nothing.

    Example: i18n-connect grants revoke grt_0123456789abcdef01234567
    """

    async def work(services: Services) -> tuple[bool, dict[str, Any]]:
        async with services.db.transaction() as conn:
            revoked = await grants.revoke_grant(
                conn, grant_id, actor="cli", now=services.clock.now(), reason="cli"
            )
            grant = await grants.get_grant(conn, grant_id)
            if grant is None:
                raise NotFound(f"no grant with the id {grant_id!r}")
            return revoked, await _grant_json(conn, grant)

    revoked, row = run_async(work)
    text = f"revoked grant {grant_id}" if revoked else f"grant {grant_id} was already revoked"
    emit({**row, "revoked": revoked}, as_json, text)
