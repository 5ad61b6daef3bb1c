"""The grant lifecycle (SPEC §1, §3 "Consent screen", §4 revocation cascade).

A grant is one user's consent for one client on one organization. At most one
grant per (user, client, organization) is live (a partial unique index on
``revoked_at IS NULL``): re-consent — often the same user connecting another
device — updates the live grant in place and keeps its refresh chains (one per
device; every use narrows to the grant's new scope) but revokes the
installation tokens holding a scope the grant no longer has; a revoked grant
is never revived. `revoke_grant` is the one cascade behind every revocation path
(partner DELETE, RFC 7009, the connected-apps page, administrators, membership
changes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Table, bindparam, delete, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit
from i18n_connect.ids import new_id
from i18n_connect.scopes import format_scope
from i18n_connect.storage.oauth_tables import (
    grants,
    installation_tokens,
    refresh_chains,
    refresh_tokens,
)
from i18n_connect.storage.statements import Statement

__all__ = [
    "Grant",
    "client_token",
    "consent",
    "get_grant",
    "list_grants",
    "lock_grant",
    "record_by_token_client",
    "revoke_grant",
    "revoke_user_grants_on_organization",
]


@dataclass(frozen=True, slots=True)
class Grant:
    id: str
    user_id: str
    client_id: str
    organization_id: str
    scope: tuple[str, ...]
    created_at: datetime
    updated_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None = None

    @property
    def live(self) -> bool:
        return self.revoked_at is None


def _grant(row: Row[Any]) -> Grant:
    return Grant(
        id=row.id,
        user_id=row.user_id,
        client_id=row.client_id,
        organization_id=row.organization_id,
        scope=tuple(row.scope.split()),
        created_at=row.created_at,
        updated_at=row.updated_at,
        last_used_at=row.last_used_at,
        revoked_at=row.revoked_at,
        revoked_by=row.revoked_by,
    )


async def get_grant(conn: AsyncConnection, grant_id: str) -> Grant | None:
    row = (await conn.execute(select(grants).where(grants.c.id == grant_id))).first()
    return _grant(row) if row is not None else None


_LOCK = Statement(select(grants.c.id).where(grants.c.id == bindparam("id")).with_for_update())


async def lock_grant(conn: AsyncConnection, grant_id: str) -> None:
    """Take the grant's row lock before changing its tokens (PostgreSQL; SQLite writers queue).

    Every path that changes a grant's refresh tokens takes the grant's row first,
    so concurrent ones wait instead of deadlocking on each other's token rows:
    RFC 7009 revocation here; rotation and code exchange through the UPDATE of
    the grant they start with (`oauth.refresh.touch_grant`, `claim_live_grants`),
    which takes the same lock.
    """
    await _LOCK.all(conn, id=grant_id)


async def list_grants(
    conn: AsyncConnection,
    *,
    user_id: str | None = None,
    organization_id: str | None = None,
    client_id: str | None = None,
    include_revoked: bool = False,
) -> list[Grant]:
    """Grants matching every given filter, oldest first; live ones only unless asked."""
    query = select(grants).order_by(grants.c.created_at, grants.c.id)
    if user_id is not None:
        query = query.where(grants.c.user_id == user_id)
    if organization_id is not None:
        query = query.where(grants.c.organization_id == organization_id)
    if client_id is not None:
        query = query.where(grants.c.client_id == client_id)
    if not include_revoked:
        query = query.where(grants.c.revoked_at.is_(None))
    return [_grant(row) for row in (await conn.execute(query)).all()]


async def client_token(
    conn: AsyncConnection, tokens: Table, token_hash: str, client_id: str
) -> Row[Any, Any, Any, Any, Any, Any] | None:
    """The token stored as ``token_hash`` in ``tokens`` (refresh or installation tokens) with
    its grant's client, user and organization (``id``, ``grant_id``, ``chain_id``,
    ``client_id``, ``user_id``, ``organization_id``); ``None`` if unknown or another client's."""
    row = (
        await conn.execute(
            select(
                tokens.c.id,
                tokens.c.grant_id,
                tokens.c.chain_id,
                grants.c.client_id,
                grants.c.user_id,
                grants.c.organization_id,
            )
            .join(grants, grants.c.id == tokens.c.grant_id)
            .where(tokens.c.token_hash == token_hash)
        )
    ).first()
    if row is None or row.client_id != client_id:
        return None
    return row


async def record_by_token_client(
    conn: AsyncConnection,
    row: Row[Any, Any, Any, Any, Any, Any],
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


async def _live_grant(
    conn: AsyncConnection, user_id: str, client_id: str, organization_id: str
) -> Grant | None:
    row = (
        await conn.execute(
            select(grants).where(
                grants.c.user_id == user_id,
                grants.c.client_id == client_id,
                grants.c.organization_id == organization_id,
                grants.c.revoked_at.is_(None),
            )
        )
    ).first()
    return _grant(row) if row is not None else None


async def _revoke_installation_tokens(
    conn: AsyncConnection, grant_id: str, now: datetime, *, token_ids: list[str] | None = None
) -> None:
    """Revoke the grant's live installation tokens (only ``token_ids``, when given)."""
    query = update(installation_tokens).where(
        installation_tokens.c.grant_id == grant_id, installation_tokens.c.revoked_at.is_(None)
    )
    if token_ids is not None:
        query = query.where(installation_tokens.c.id.in_(token_ids))
    await conn.execute(query.values(revoked_at=now))


async def _revoke_tokens(conn: AsyncConnection, grant_id: str, now: datetime) -> None:
    """Delete the grant's refresh chains and tokens and revoke its installation tokens."""
    await conn.execute(delete(refresh_tokens).where(refresh_tokens.c.grant_id == grant_id))
    await conn.execute(delete(refresh_chains).where(refresh_chains.c.grant_id == grant_id))
    await _revoke_installation_tokens(conn, grant_id, now)


async def _update_in_place(conn: AsyncConnection, grant: Grant, scope: str, now: datetime) -> Grant:
    await conn.execute(
        update(grants).where(grants.c.id == grant.id).values(scope=scope, updated_at=now)
    )
    kept = set(scope.split())
    wider = [
        row.id
        for row in await conn.execute(
            select(installation_tokens.c.id, installation_tokens.c.scope).where(
                installation_tokens.c.grant_id == grant.id,
                installation_tokens.c.revoked_at.is_(None),
            )
        )
        if not set(row.scope.split()) <= kept
    ]
    if wider:
        await _revoke_installation_tokens(conn, grant.id, now, token_ids=wider)
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
    now: datetime,
) -> tuple[Grant, bool]:
    """The live grant after consent, and whether it already existed (updated in place)."""
    existing = await _live_grant(conn, user_id, client_id, organization_id)
    if existing is not None:
        return await _update_in_place(conn, existing, scope, now), True
    grant_id = new_id("grt")
    try:
        async with conn.begin_nested():
            await conn.execute(
                insert(grants).values(
                    id=grant_id,
                    user_id=user_id,
                    client_id=client_id,
                    organization_id=organization_id,
                    scope=scope,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        # A concurrent consent created the live grant first: update that one instead.
        existing = await _live_grant(conn, user_id, client_id, organization_id)
        if existing is None:
            raise
        return await _update_in_place(conn, existing, scope, now), True
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
) -> list[Grant]:
    """Create or update one live grant per organization, in the given order.

    The caller has checked that the user administers every organization and
    that the scopes were requested. Each grant gets exactly ``scope``.
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
            detail={"scope": scope_text, "updated": updated},
        )
        result.append(grant)
    return result


async def revoke_grant(
    conn: AsyncConnection, grant_id: str, *, actor: str, now: datetime, reason: str
) -> bool:
    """Revoke a grant and everything issued under it; ``False`` if it is unknown or already
    revoked (idempotent: a concurrent second revocation does nothing)."""
    grant = await get_grant(conn, grant_id)
    if grant is None:
        return False
    result = await conn.execute(
        update(grants)
        .where(grants.c.id == grant_id, grants.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=actor)
    )
    if result.rowcount != 1:
        return False
    await _revoke_tokens(conn, grant_id, now)
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
    revoked = 0
    for grant in await list_grants(conn, user_id=user_id, organization_id=organization_id):
        if await revoke_grant(conn, grant.id, actor=actor, now=now, reason=reason):
            revoked += 1
    return revoked
