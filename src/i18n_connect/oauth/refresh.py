"""Refresh tokens: issuance and rotation with reuse detection (RFC 6749 §6, §10.4;
OAuth 2.0 Security BCP, RFC 9700 §4.14.2).

Every use returns a successor; the presented token is marked used. The
successor is derived from the presented token (`Successors`: an HMAC under a
key of the server secret), so presenting a used token again can return the
*same* successor without storing it: while that successor is unused (a client
that lost the response retries), and — within the grace window after the first
use — the chain's newest token however far it moved, so that two holders of
one token (two instances of a partner server) converge on one chain. Anything
else is reuse: the token's chain ends (`oauth.chains`: its refresh, access and
installation tokens) and ``token.refresh_reuse`` is audited. Other chains of
the grant (other devices) are untouched. The refresh token's scope never
changes (RFC 6749 §6); a narrower ``scope`` only narrows the access token.

Each step is a conditional update inside the caller's transaction, so two
concurrent refreshes of one token can never leave two live tokens. A refusal
with side effects (reuse, lost membership) is *returned*, not raised, so that
the edge commits the revocation before it answers with the error.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit, grants
from i18n_connect.errors import InvalidGrant, InvalidScope, ProtocolError
from i18n_connect.ids import SecretHasher, new_id, new_secret
from i18n_connect.oauth import chains
from i18n_connect.platform.organizations import ADMIN_ROLES
from i18n_connect.scopes import parse_scope
from i18n_connect.storage import grants as stored
from i18n_connect.webhooks import events

__all__ = [
    "REFRESH_TOKEN_LIFETIME",
    "GrantRef",
    "Rotated",
    "Successors",
    "claim_live_grants",
    "issue_refresh_token",
    "rotate",
    "start_chain",
]

REFRESH_TOKEN_LIFETIME = timedelta(days=30)
_MAX_TOKEN_LENGTH = 200
_ATTEMPTS = 3  # retries of a lost race with a concurrent refresh of the same token
_MAX_WALK = 8  # successors followed from a token presented again within the grace window
_PREFIX = "rt_"


class Successors:
    """The successor of a refresh token: ``rt_`` + HMAC-SHA-256(key, token), as unguessable
    as a random token to anyone without the server secret, and the same every time."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def of(self, token: str) -> str:
        digest = hmac.new(self._key, token.encode(), hashlib.sha256).digest()
        return _PREFIX + base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


@dataclass(frozen=True, slots=True)
class GrantRef:
    """What the token endpoint needs of a live grant."""

    id: str
    user_id: str
    client_id: str
    organization_id: str
    scope: tuple[str, ...]
    project_ids: tuple[str, ...] | None = None  # None: every project, including future ones


@dataclass(frozen=True, slots=True)
class Rotated:
    refresh_token: str
    grant: GrantRef
    chain_id: str
    scope: tuple[str, ...]  # of the access token to issue (possibly narrowed)
    refresh_scope: str  # of the refresh token: never changes along the chain
    resource: str | None


async def issue_refresh_token(
    conn: AsyncConnection,
    *,
    grant_id: str,
    scope: str,
    resource: str | None,
    now: datetime,
    hasher: SecretHasher,
    chain_id: str | None = None,
    code_id: str | None = None,
) -> str:
    """Store a new refresh token of the chain and return it (its plaintext is never stored).
    Without ``chain_id`` the token starts a chain of its own, outside the per-grant limit
    that `start_chain` keeps (seeding and tools)."""
    token = new_secret(_PREFIX)
    if chain_id is None:
        chain_id = await chains.new_chain(conn, grant_id, code_id=code_id, now=now)
    await stored.insert_refresh_token(
        conn,
        token_id=new_id("rtk"),
        token_hash=hasher.hash(token),
        grant_id=grant_id,
        chain_id=chain_id,
        code_id=code_id,
        parent_id=None,
        scope=scope,
        resource=resource,
        now=now,
        expires_at=now + REFRESH_TOKEN_LIFETIME,
    )
    return token


async def start_chain(
    conn: AsyncConnection,
    grant: Any,
    *,
    scope: str,
    resource: str | None,
    code_id: str | None,
    chains_per_grant: int,
    now: datetime,
    hasher: SecretHasher,
) -> tuple[str, str]:
    """A new chain of the grant for one code exchange (one device), and its first refresh
    token; the grant's other chains stay, up to ``chains_per_grant``: past it, the least
    recently refreshed ones end (`chains.end_beyond_limit`)."""
    token = new_secret(_PREFIX)
    chain_id = new_id("rch")
    keep = chains_per_grant - 1
    beyond = await stored.open_chain(
        conn,
        chain_id=chain_id,
        grant_id=grant.id,
        code_id=code_id,
        keep=keep,
        token_id=new_id("rtk"),
        token_hash=hasher.hash(token),
        scope=scope,
        resource=resource,
        now=now,
        expires_at=now + REFRESH_TOKEN_LIFETIME,
    )
    await chains.end_beyond_limit(conn, grant, beyond, keep=keep, now=now)
    return chain_id, token


def _projects(stored_ids: list[str] | None) -> tuple[str, ...] | None:
    return None if stored_ids is None else tuple(stored_ids)


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
        row = await stored.claim_grant(
            conn, grant_id=grant_id, client_id=client_id, user_id=user_id, now=now
        )
        if row is None:
            return None
        claimed.append(
            GrantRef(
                row.id,
                row.user_id,
                row.client_id,
                row.organization_id,
                tuple(row.scope.split()),
                _projects(row.project_ids),
            )
        )
    return claimed


async def _reuse(
    conn: AsyncConnection, row: Any, grant: GrantRef, *, now: datetime
) -> InvalidGrant:
    """End the chain of ``row`` and audit the reuse (RFC 9700 §4.14.2)."""
    if not await chains.end_chain(conn, row.chain_id, now=now, reason="reuse"):
        reason = await stored.chain_end_reason(conn, chain_id=row.chain_id)  # ended meanwhile
        raise InvalidGrant(chains.REFUSALS[reason or "revoked"])
    await audit.record(
        conn,
        action="token.refresh_reuse",
        actor=grant.client_id,
        now=now,
        user_id=grant.user_id,
        client_id=grant.client_id,
        organization_id=grant.organization_id,
        grant_id=grant.id,
        detail={"refresh_token_id": row.id, "chain_id": row.chain_id},
    )
    await events.emit_for_grant(
        conn,
        "grant.revoked",
        client_id=grant.client_id,
        grant_id=grant.id,
        organization_id=grant.organization_id,
        now=now,
        user_id=grant.user_id,
        reason=events.revocation_reason("reuse"),
        chain_id=row.chain_id,  # only this chain's tokens; the grant's other devices keep theirs
    )
    return InvalidGrant(
        "The refresh token was already used; every token issued from its chain "
        "(refresh, access and installation tokens) is revoked. Authorize again."
    )


async def _held_successor(
    conn: AsyncConnection,
    row: Any,
    presented: str,
    *,
    now: datetime,
    grace: timedelta,
    successors: Successors,
    hasher: SecretHasher,
) -> str | None:
    """What presenting the used token ``row`` again returns (see the module docstring):
    ``None`` when that is reuse. Reads only: the successor already exists."""
    within_grace = now < row.used_at + grace
    token, parent = presented, row
    for _ in range(_MAX_WALK):
        token = successors.of(token)
        child = await stored.refresh_token_by_hash(conn, token_hash=hasher.hash(token))
        if child is None or child.parent_id != parent.id or child.revoked_at is not None:
            return None
        if child.used_at is None:
            return token
        if not within_grace:
            return None
        parent = child
    return None


async def _advance(
    conn: AsyncConnection,
    row: Any,
    presented: str,
    grant: GrantRef,
    *,
    now: datetime,
    grace: timedelta,
    successors: Successors,
    hasher: SecretHasher,
) -> str | InvalidGrant:
    """Rotate ``row``: its successor, or the reuse error once its chain has ended."""
    for _ in range(_ATTEMPTS):
        if row.revoked_at is not None:  # its chain ended meanwhile, or a retired retry
            return await _reuse(conn, row, grant, now=now)
        if row.used_at is not None:
            held = await _held_successor(
                conn, row, presented, now=now, grace=grace, successors=successors, hasher=hasher
            )
            return held if held is not None else await _reuse(conn, row, grant, now=now)
        successor = successors.of(presented)
        if await stored.rotate_refresh_token(
            conn,
            parent_id=row.id,
            grant_id=grant.id,
            successor_id=new_id("rtk"),
            successor_hash=hasher.hash(successor),
            chain_id=row.chain_id,
            code_id=row.code_id,
            scope=row.scope,
            resource=row.resource,
            now=now,
            expires_at=now + REFRESH_TOKEN_LIFETIME,
        ):
            return successor
        # A concurrent refresh moved first.
        row = await stored.refresh_token_by_id(conn, token_id=row.id)
        if row is None:  # its chain was revoked (RFC 7009) meanwhile
            raise InvalidGrant("Unknown refresh token.")
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
    grace: timedelta,
    successors: Successors,
    hasher: SecretHasher,
) -> Rotated | ProtocolError:
    """Exchange a refresh token for its successor (see the module docstring).

    Refusals without side effects are raised; reuse and lost membership are
    returned after their revocation so that the caller commits it.
    """
    if not refresh_token or len(refresh_token) > _MAX_TOKEN_LENGTH:
        raise InvalidGrant("Unknown refresh token.")
    row = await stored.refresh_token_to_rotate(conn, token_hash=hasher.hash(refresh_token))
    if row is None:
        raise InvalidGrant("Unknown refresh token.")
    if row.client_id != client_id:
        raise InvalidGrant("The refresh token was issued to another client.")
    if row.grant_revoked_at is not None:
        raise InvalidGrant("The grant was revoked.")
    if row.chain_end_reason is not None:
        raise InvalidGrant(chains.REFUSALS[row.chain_end_reason])
    if row.expires_at <= now:
        raise InvalidGrant("The refresh token has expired.")
    grant = GrantRef(
        row.grant_id,
        row.user_id,
        row.client_id,
        row.organization_id,
        tuple(row.grant_scope.split()),
        _projects(row.grant_project_ids),
    )
    token_scope = tuple(row.scope.split())
    allowed = tuple(name for name in token_scope if name in grant.scope)
    scope = _narrowed(requested_scope, allowed)
    if row.role not in ADMIN_ROLES and not (row.role and row.grant_request_id):
        await grants.revoke_grant(conn, grant.id, actor="system", now=now, reason="membership_lost")
        return InvalidGrant(
            "The user no longer administers the organization; the grant is revoked."
        )
    successor = await _advance(
        conn,
        row,
        refresh_token,
        grant,
        now=now,
        grace=grace,
        successors=successors,
        hasher=hasher,
    )
    if isinstance(successor, ProtocolError):
        return successor
    return Rotated(
        refresh_token=successor,
        grant=grant,
        chain_id=row.chain_id,
        scope=scope,
        refresh_scope=row.scope,
        resource=row.resource,
    )
