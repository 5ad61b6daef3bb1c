"""The grant lifecycle (SPEC §1, §3 "Consent screen", §4 revocation cascade).

A grant is one user's consent for one client on one organization. At most one
grant per (user, client, organization) is live (a partial unique index on
``revoked_at IS NULL``): re-consent — often the same user connecting another
device — updates the live grant in place and keeps its refresh chains (one per
device; every use narrows to the grant's new scope) but revokes the
installation tokens holding a scope the grant no longer has; a revoked grant
is never revived. `revoke_grant` is the one cascade behind every revocation path
(partner DELETE, RFC 7009, the connected-apps page, administrators, membership
changes, organization policies).

A grant covers every project of its organization, including future ones
(``project_ids`` ``None``), or only the projects chosen at consent; organization
owners and admins may change that later (`set_projects`, audited as
``grant.updated``). Tokens of the grant are checked against its projects on
every request, so a narrowed grant refuses an old project at once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit
from i18n_connect.ids import new_id
from i18n_connect.scopes import format_scope
from i18n_connect.storage import grants as stored
from i18n_connect.storage.grants import Grant
from i18n_connect.webhooks import events

__all__ = [
    "Grant",
    "client_token",
    "consent",
    "get_grant",
    "list_grants",
    "lock_grant",
    "published_projects",
    "record_by_token_client",
    "revoke_grant",
    "revoke_grants",
    "revoke_user_grants_on_organization",
    "set_projects",
]

Projects = tuple[str, ...] | None  # the projects a grant covers; None: all, including future


async def get_grant(conn: AsyncConnection, grant_id: str) -> Grant | None:
    return await stored.get_grant(conn, grant_id=grant_id)


async def lock_grant(conn: AsyncConnection, grant_id: str) -> None:
    """Take the grant's row lock before changing its tokens (PostgreSQL; SQLite writers queue).

    Every path that changes a grant's refresh tokens takes the grant's row first,
    so concurrent ones wait instead of deadlocking on each other's token rows:
    RFC 7009 revocation here; rotation through the locking read of its token
    (`storage.grants.refresh_token_to_rotate`) and code exchange through the UPDATE
    of the grant it starts with (`claim_live_grants`), which take the same lock.
    """
    await stored.lock_grant(conn, grant_id=grant_id)


async def list_grants(
    conn: AsyncConnection,
    *,
    user_id: str | None = None,
    organization_id: str | None = None,
    client_id: str | None = None,
    include_revoked: bool = False,
) -> list[Grant]:
    """Grants matching every given filter, oldest first; live ones only unless asked."""
    return await stored.list_grants(
        conn,
        user_id=user_id,
        organization_id=organization_id,
        client_id=client_id,
        include_revoked=include_revoked,
    )


async def client_token(
    conn: AsyncConnection,
    kind: Literal["refresh", "installation"],
    token_hash: str,
    client_id: str,
) -> Any | None:
    """The refresh or installation token stored as ``token_hash`` with its grant (``id``,
    ``grant_id``, ``chain_id``, ``client_id``, ``user_id``, ``organization_id``, …, see
    `storage.grants`); ``None`` if unknown or another client's."""
    lookup = (
        stored.refresh_token_with_grant
        if kind == "refresh"
        else stored.installation_token_with_grant
    )
    row = await lookup(conn, token_hash=token_hash)
    if row is None or row.client_id != client_id:
        return None
    return row


async def record_by_token_client(
    conn: AsyncConnection,
    row: Any,
    *,
    action: str,
    now: datetime,
    detail: dict[str, Any],
) -> None:
    """Audit ``action`` by the client of a token found with `client_token`, on its grant."""
    await audit.record(
        conn,
        action=action,
        actor=row.client_id,
        now=now,
        user_id=row.user_id,
        client_id=row.client_id,
        organization_id=row.organization_id,
        grant_id=row.grant_id,
        detail=detail,
    )


async def _update_in_place(
    conn: AsyncConnection, grant: Grant, scope: str, projects: Projects, now: datetime
) -> Grant:
    await stored.update_grant_scope(conn, grant_id=grant.id, scope=scope, now=now)
    if projects != grant.project_ids:
        await stored.update_grant_projects(conn, grant_id=grant.id, project_ids=projects, now=now)
    kept = set(scope.split())
    wider = [
        row.id
        for row in await stored.live_installation_tokens(conn, grant_id=grant.id)
        if not set(row.scope.split()) <= kept
    ]
    if wider:
        await stored.revoke_installation_tokens(conn, grant_id=grant.id, now=now, token_ids=wider)
    refreshed = await get_grant(conn, grant.id)
    assert refreshed is not None
    return refreshed


async def _consent_one(
    conn: AsyncConnection,
    *,
    user_id: str,
    client_id: str,
    organization_id: str,
    scope: str,
    projects: Projects,
    request_id: str | None,
    now: datetime,
) -> tuple[Grant, bool]:
    """The live grant after consent, and whether it already existed (updated in place)."""
    owner = {"user_id": user_id, "client_id": client_id, "organization_id": organization_id}
    existing = await stored.live_grant(conn, **owner)
    if existing is not None:
        return await _update_in_place(conn, existing, scope, projects, now), True
    grant_id = new_id("grt")
    if not await stored.insert_grant(
        conn,
        grant_id=grant_id,
        scope=scope,
        project_ids=projects,
        request_id=request_id,
        now=now,
        **owner,
    ):
        # A concurrent consent created the live grant first: update that one instead.
        existing = await stored.live_grant(conn, **owner)
        if existing is None:
            raise RuntimeError("the grant was refused, yet no live grant is there")
        return await _update_in_place(conn, existing, scope, projects, now), True
    created = await get_grant(conn, grant_id)
    assert created is not None
    return created, False


async def consent(
    conn: AsyncConnection,
    *,
    user_id: str,
    client_id: str,
    organization_ids: Sequence[str],
    scope: Sequence[str],
    now: datetime,
    projects: Mapping[str, Projects] | None = None,
    requests: Mapping[str, str | None] | None = None,
) -> list[Grant]:
    """Create or update one live grant per organization, in the given order.

    The caller has checked that the user administers every organization, that
    the scopes were requested and that ``projects`` (organization id → chosen
    project ids; absent: every project) are the organization's. Each grant gets
    exactly ``scope`` and its projects; a new grant records the approved
    connection request (``requests``) that let a member give it.
    """
    scope_text = format_scope(scope)
    result: list[Grant] = []
    for organization_id in dict.fromkeys(organization_ids):
        grant, updated = await _consent_one(
            conn,
            user_id=user_id,
            client_id=client_id,
            organization_id=organization_id,
            scope=scope_text,
            projects=(projects or {}).get(organization_id),
            request_id=(requests or {}).get(organization_id),
            now=now,
        )
        await audit.record(
            conn,
            action="grant.consented",
            actor=user_id,
            now=now,
            user_id=user_id,
            client_id=client_id,
            organization_id=organization_id,
            grant_id=grant.id,
            detail={
                "scope": scope_text,
                "updated": updated,
                "project_ids": None if grant.project_ids is None else list(grant.project_ids),
            },
        )
        await events.emit_for_grant(
            conn,
            "grant.updated" if updated else "grant.created",
            client_id=client_id,
            grant_id=grant.id,
            organization_id=organization_id,
            now=now,
            user_id=user_id,
            scope=list(grant.scope),
            projects=published_projects(grant.project_ids),
        )
        result.append(grant)
    return result


def published_projects(projects: Projects) -> str | list[str]:
    """A grant's projects as the token response and events name them: ``"all"`` or the ids."""
    return "all" if projects is None else list(projects)


async def set_projects(
    conn: AsyncConnection, grant: Grant, projects: Projects, *, actor: str, now: datetime
) -> bool:
    """Narrow or widen the projects a live grant covers (the caller checked they are the
    organization's); audited as ``grant.updated``, the event partners learn it from. ``False``
    when nothing changed."""
    if projects == grant.project_ids:
        return False
    await stored.lock_grant(conn, grant_id=grant.id)
    await stored.update_grant_projects(conn, grant_id=grant.id, project_ids=projects, now=now)
    await audit.record(
        conn,
        action="grant.updated",
        actor=actor,
        now=now,
        user_id=grant.user_id,
        client_id=grant.client_id,
        organization_id=grant.organization_id,
        grant_id=grant.id,
        detail={
            "project_ids": None if projects is None else list(projects),
            "previous_project_ids": (
                None if grant.project_ids is None else list(grant.project_ids)
            ),
        },
    )
    await events.emit_for_grant(
        conn,
        "grant.updated",
        client_id=grant.client_id,
        grant_id=grant.id,
        organization_id=grant.organization_id,
        now=now,
        user_id=grant.user_id,
        scope=list(grant.scope),
        projects=published_projects(projects),
    )
    return True


async def revoke_grant(
    conn: AsyncConnection, grant_id: str, *, actor: str, now: datetime, reason: str
) -> bool:
    """Revoke a grant and everything issued under it; ``False`` if it is unknown or already
    revoked (idempotent: a concurrent second revocation does nothing)."""
    grant = await get_grant(conn, grant_id)
    if grant is None:
        return False
    if not await stored.mark_grant_revoked(conn, grant_id=grant_id, actor=actor, now=now):
        return False
    await stored.revoke_grant_tokens(conn, grant_id=grant_id, now=now)
    await audit.record(
        conn,
        action="grant.revoked",
        actor=actor,
        now=now,
        user_id=grant.user_id,
        client_id=grant.client_id,
        organization_id=grant.organization_id,
        grant_id=grant_id,
        detail={"reason": reason},
    )
    await events.emit_for_grant(
        conn,
        "grant.revoked",
        client_id=grant.client_id,
        grant_id=grant_id,
        organization_id=grant.organization_id,
        now=now,
        user_id=grant.user_id,
        reason=events.revocation_reason(reason),
    )
    return True


async def revoke_user_grants_on_organization(
    conn: AsyncConnection,
    *,
    user_id: str,
    organization_id: str,
    actor: str,
    now: datetime,
    reason: str,
) -> int:
    """Revoke every live grant of a user on one organization; the number revoked."""
    found = await list_grants(conn, user_id=user_id, organization_id=organization_id)
    return await revoke_grants(conn, found, actor=actor, now=now, reason=reason)


async def revoke_grants(
    conn: AsyncConnection, found: Iterable[Grant], *, actor: str, now: datetime, reason: str
) -> int:
    """Revoke each grant through `revoke_grant`; the number this call revoked."""
    revoked = 0
    for grant in found:
        if await revoke_grant(conn, grant.id, actor=actor, now=now, reason=reason):
            revoked += 1
    return revoked
