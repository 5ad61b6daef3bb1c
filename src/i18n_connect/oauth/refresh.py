"""Refresh tokens: issuance and rotation with reuse detection (RFC 6749 §6, §10.4;
OAuth 2.0 Security BCP, RFC 9700 §4.14.2).

Every use returns a successor; the presented token is marked used. A client
that lost the response may present the token it just used again, as long as
its successor has never been used: the unused successor is revoked and a new
one issued. Presenting any other used or revoked token of the grant is reuse:
every refresh token of the grant is revoked and ``token.refresh_reuse`` is
audited. The refresh token's scope never changes (RFC 6749 §6); a narrower
``scope`` only narrows the access token.

Each step is a conditional update inside the caller's transaction, so two
concurrent refreshes of one token can never leave two live tokens. A refusal
with side effects (reuse, lost membership) is *returned*, not raised, so that
the edge commits the revocation before it answers with the error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, delete, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit, grants
from i18n_connect.errors import InvalidGrant, InvalidScope, ProtocolError
from i18n_connect.ids import SecretHasher, new_id, new_secret
from i18n_connect.platform.organizations import ADMIN_ROLES
from i18n_connect.scopes import parse_scope
from i18n_connect.storage.oauth_tables import grants as grants_table
from i18n_connect.storage.oauth_tables import refresh_tokens
from i18n_connect.storage.statements import Statement
from i18n_connect.storage.tables import memberships

__all__ = [
    "REFRESH_TOKEN_LIFETIME",
    "GrantRef",
    "Rotated",
    "claim_live_grants",
    "issue_refresh_token",
    "replace_chain",
    "rotate",
    "touch_grant",
]

REFRESH_TOKEN_LIFETIME = timedelta(days=30)
_MAX_TOKEN_LENGTH = 200
_ATTEMPTS = 3  # retries of a lost race with a concurrent refresh of the same token


@dataclass(frozen=True, slots=True)
class GrantRef:
    """What the token endpoint needs of a live grant."""

    id: str
    user_id: str
    client_id: str
    organization_id: str
    scope: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Rotated:
    refresh_token: str
    grant: GrantRef
    scope: tuple[str, ...]  # of the access token to issue (possibly narrowed)
    refresh_scope: str  # of the refresh token: never changes along the chain
    resource: str | None


_INSERT_TOKEN = Statement.insert(refresh_tokens)
_DELETE_CHAIN = Statement(
    delete(refresh_tokens).where(refresh_tokens.c.grant_id == bindparam("grant_id"))
)
_TOUCH_GRANT = Statement(
    update(grants_table)
    .where(grants_table.c.id == bindparam("id"))
    .values(last_used_at=bindparam("now"))
)
_CLAIM_GRANT = Statement(
    update(grants_table)
    .where(
        grants_table.c.id == bindparam("id"),
        grants_table.c.revoked_at.is_(None),
        grants_table.c.client_id == bindparam("client_id"),
        grants_table.c.user_id == bindparam("user_id"),
    )
    .values(last_used_at=bindparam("now"))
    .returning(
        grants_table.c.id,
        grants_table.c.user_id,
        grants_table.c.client_id,
        grants_table.c.organization_id,
        grants_table.c.scope,
    )
)
_TOKEN_BY_ID = Statement(select(refresh_tokens).where(refresh_tokens.c.id == bindparam("id")))
_LIVE_CHILD = Statement(
    select(refresh_tokens).where(
        refresh_tokens.c.grant_id == bindparam("grant_id"),
        refresh_tokens.c.parent_id == bindparam("parent_id"),
        refresh_tokens.c.revoked_at.is_(None),
    )
)
_FRESH = (
    refresh_tokens.c.id == bindparam("id"),
    refresh_tokens.c.used_at.is_(None),
    refresh_tokens.c.revoked_at.is_(None),
)
_MARK_USED = Statement(update(refresh_tokens).where(*_FRESH).values(used_at=bindparam("now")))
_MARK_REVOKED = Statement(update(refresh_tokens).where(*_FRESH).values(revoked_at=bindparam("now")))
_TOKEN_WITH_GRANT = Statement(
    select(
        refresh_tokens,
        grants_table.c.user_id,
        grants_table.c.client_id.label("grant_client_id"),
        grants_table.c.organization_id,
        grants_table.c.scope.label("grant_scope"),
        grants_table.c.revoked_at.label("grant_revoked_at"),
        memberships.c.role,
    )
    .select_from(
        refresh_tokens.join(grants_table, grants_table.c.id == refresh_tokens.c.grant_id).outerjoin(
            memberships,
            and_(
                memberships.c.organization_id == grants_table.c.organization_id,
                memberships.c.user_id == grants_table.c.user_id,
            ),
        )
    )
    .where(refresh_tokens.c.token_hash == bindparam("token_hash"))
)


async def issue_refresh_token(
    conn: AsyncConnection,
    *,
    grant_id: str,
    scope: str,
    resource: str | None,
    now: datetime,
    hasher: SecretHasher,
    code_id: str | None = None,
    parent_id: str | None = None,
) -> str:
    """Store a new refresh token of the grant and return it (the only time it exists)."""
    token = new_secret("rt_")
    await _INSERT_TOKEN.rowcount(
        conn,
        id=new_id("rtk"),
        token_hash=hasher.hash(token),
        grant_id=grant_id,
        code_id=code_id,
        parent_id=parent_id,
        scope=scope,
        resource=resource,
        created_at=now,
        expires_at=now + REFRESH_TOKEN_LIFETIME,
        used_at=None,
        revoked_at=None,
    )
    return token


async def replace_chain(
    conn: AsyncConnection,
    *,
    grant_id: str,
    scope: str,
    resource: str | None,
    now: datetime,
    hasher: SecretHasher,
    code_id: str,
) -> str:
    """Start the grant's one refresh chain from a code, dropping any older chain of it."""
    await _DELETE_CHAIN.rowcount(conn, grant_id=grant_id)
    return await issue_refresh_token(
        conn,
        grant_id=grant_id,
        scope=scope,
        resource=resource,
        now=now,
        hasher=hasher,
        code_id=code_id,
    )


async def touch_grant(conn: AsyncConnection, grant_id: str, *, now: datetime) -> None:
    """Record that the grant was just used (shown on the connected-apps page).

    The UPDATE takes the grant's row lock, like `grants.lock_grant`: rotation
    touches the grant first, so one statement both records the use and orders
    concurrent changes of the chain.
    """
    await _TOUCH_GRANT.rowcount(conn, id=grant_id, now=now)


async def claim_live_grants(
    conn: AsyncConnection,
    grant_ids: tuple[str, ...],
    *,
    client_id: str,
    user_id: str,
    now: datetime,
) -> list[GrantRef] | None:
    """Mark the grants used, one conditional update each; ``None`` unless every one is live and
    belongs to this client and user (the caller then rolls back)."""
    claimed = []
    for grant_id in dict.fromkeys(grant_ids):
        row = await _CLAIM_GRANT.first(
            conn, id=grant_id, client_id=client_id, user_id=user_id, now=now
        )
        if row is None:
            return None
        claimed.append(
            GrantRef(
                row.id, row.user_id, row.client_id, row.organization_id, tuple(row.scope.split())
            )
        )
    return claimed


async def _row_by_id(conn: AsyncConnection, token_id: str) -> Any:
    return await _TOKEN_BY_ID.one(conn, id=token_id)


async def _live_child(conn: AsyncConnection, row: Any) -> Any:
    """The successor of ``row`` that is not revoked (looked up through the grant's index)."""
    return await _LIVE_CHILD.first(conn, grant_id=row.grant_id, parent_id=row.id)


async def _revoke_chain(
    conn: AsyncConnection, row: Any, grant: GrantRef, *, now: datetime
) -> InvalidGrant:
    await conn.execute(
        update(refresh_tokens)
        .where(refresh_tokens.c.grant_id == grant.id, refresh_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    await audit.record(
        conn,
        action="token.refresh_reuse",
        actor=grant.client_id,
        now=now,
        user_id=grant.user_id,
        client_id=grant.client_id,
        organization_id=grant.organization_id,
        grant_id=grant.id,
        detail={"refresh_token_id": row.id},
    )
    return InvalidGrant("The refresh token was already used; every token of this grant is revoked.")


async def _claim_fresh(
    conn: AsyncConnection, token_id: str, mark: Statement, *, now: datetime
) -> bool:
    """Mark the refresh token used or revoked only while it is neither (one conditional
    UPDATE, so exactly one concurrent caller wins); whether this call did."""
    return await mark.rowcount(conn, id=token_id, now=now) == 1


async def _advance(
    conn: AsyncConnection, row: Any, grant: GrantRef, *, now: datetime, hasher: SecretHasher
) -> str | InvalidGrant:
    """Rotate ``row``: a successor, or the reuse error once the chain is revoked."""
    for _ in range(_ATTEMPTS):
        if row.revoked_at is not None:
            return await _revoke_chain(conn, row, grant, now=now)
        if row.used_at is None:
            won = await _claim_fresh(conn, row.id, _MARK_USED, now=now)
        else:  # a retry after a lost response: only while the successor is still unused
            child = await _live_child(conn, row)
            if child is None or child.used_at is not None:
                return await _revoke_chain(conn, row, grant, now=now)
            won = await _claim_fresh(conn, child.id, _MARK_REVOKED, now=now)
        if won:
            return await issue_refresh_token(
                conn,
                grant_id=grant.id,
                scope=row.scope,
                resource=row.resource,
                now=now,
                hasher=hasher,
                code_id=row.code_id,
                parent_id=row.id,
            )
        row = await _row_by_id(conn, row.id)  # a concurrent refresh moved first: look again
    return InvalidGrant("The refresh token is being used concurrently; retry.")


def _narrowed(requested: str | None, allowed: tuple[str, ...]) -> tuple[str, ...]:
    if requested is None:
        return allowed
    scope = parse_scope(requested)
    if not scope:  # only ignored scopes such as offline_access: nothing to narrow
        return allowed
    wider = [name for name in scope if name not in allowed]
    if wider:
        raise InvalidScope(f"The scope is wider than the grant: {' '.join(wider)}.")
    return scope


async def rotate(
    conn: AsyncConnection,
    *,
    client_id: str,
    refresh_token: str,
    requested_scope: str | None,
    now: datetime,
    hasher: SecretHasher,
) -> Rotated | ProtocolError:
    """Exchange a refresh token for its successor (see the module docstring).

    Refusals without side effects are raised; reuse and lost membership are
    returned after their revocation so that the caller commits it.
    """
    if not refresh_token or len(refresh_token) > _MAX_TOKEN_LENGTH:
        raise InvalidGrant("Unknown refresh token.")
    row = await _TOKEN_WITH_GRANT.first(conn, token_hash=hasher.hash(refresh_token))
    if row is None:
        raise InvalidGrant("Unknown refresh token.")
    if row.grant_client_id != client_id:
        raise InvalidGrant("The refresh token was issued to another client.")
    if row.grant_revoked_at is not None:
        raise InvalidGrant("The grant was revoked.")
    if row.expires_at <= now:
        raise InvalidGrant("The refresh token has expired.")
    grant = GrantRef(
        row.grant_id,
        row.user_id,
        row.grant_client_id,
        row.organization_id,
        tuple(row.grant_scope.split()),
    )
    token_scope = tuple(row.scope.split())
    allowed = tuple(name for name in token_scope if name in grant.scope)
    scope = _narrowed(requested_scope, allowed)
    if row.role not in ADMIN_ROLES:
        await grants.revoke_grant(conn, grant.id, actor="system", now=now, reason="membership_lost")
        return InvalidGrant(
            "The user no longer administers the organization; the grant is revoked."
        )
    await touch_grant(conn, grant.id, now=now)  # and lock it, before the chain changes
    successor = await _advance(conn, row, grant, now=now, hasher=hasher)
    if isinstance(successor, ProtocolError):
        return successor
    return Rotated(
        refresh_token=successor,
        grant=grant,
        scope=scope,
        refresh_scope=row.scope,
        resource=row.resource,
    )
