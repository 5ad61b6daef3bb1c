"""Changing a registered client: its metadata, its secret (rotated with a grace period), its
verified mark, and its deletion, which revokes every grant (SPEC §4 cascade, RFC 7592 §2.3).

The command line and the client configuration endpoint (RFC 7592) both come here, so the same
validation and the same audit events apply to both. Every change is audited; ``detail`` holds
no secret.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit, grants
from i18n_connect.errors import ConflictError, InvalidClientMetadata, InvalidRequest, NotFound
from i18n_connect.ids import SecretHasher, new_secret
from i18n_connect.oauth.clients import AuthMethod, Client, checked_metadata, get_client
from i18n_connect.storage import clients as storage

__all__ = [
    "DEFAULT_GRACE",
    "MAX_GRACE",
    "RotatedSecret",
    "delete_client",
    "existing_client",
    "list_clients",
    "rotate_secret",
    "set_verified",
    "update_client",
]

DEFAULT_GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class RotatedSecret:
    client: Client
    secret: str  # shown once
    previous_accepted_until: datetime | None  # None: the old secret stopped at once


async def list_clients(conn: AsyncConnection) -> list[Client]:
    """Every client but the deleted ones, oldest first."""
    return await storage.list_clients(conn)


async def existing_client(conn: AsyncConnection, client_id: str) -> Client:
    """The client, or `NotFound` when it is unknown or deleted."""
    client = await get_client(conn, client_id)
    if client is None:
        raise NotFound(f"no client with the id {client_id!r}")
    return client


async def update_client(
    conn: AsyncConnection,
    client: Client,
    *,
    name: str,
    redirect_uris: Sequence[str],
    scope: str | None,
    actor: str,
    now: datetime,
    token_endpoint_auth_method: AuthMethod | None = None,
    client_uri: str | None = None,
    logo_uri: str | None = None,
    grant_types: Sequence[str] | None = None,
) -> Client:
    """Replace the client's metadata, checked as at registration; the client as stored now.

    The method may change between the two secret methods, never between a secret and none.
    """
    name, uris, scope = checked_metadata(name, redirect_uris, scope)
    method = token_endpoint_auth_method or client.token_endpoint_auth_method
    if (method != "none") != client.is_confidential:
        raise InvalidClientMetadata(
            "A client cannot change between public and confidential; register a new one."
        )
    if not await storage.replace_metadata(
        conn,
        client.id,
        name=name,
        redirect_uris=uris,
        scope=scope,
        token_endpoint_auth_method=method,
        client_uri=client_uri,
        logo_uri=logo_uri,
        grant_types=client.grant_types if grant_types is None else grant_types,
    ):
        raise NotFound(f"no client with the id {client.id!r}")
    await audit.record(
        conn,
        action="client.updated",
        actor=actor,
        now=now,
        client_id=client.id,
        detail={"redirect_uris": list(uris), "scope": scope, "name": name},
    )
    return await existing_client(conn, client.id)


async def rotate_secret(
    conn: AsyncConnection,
    client: Client,
    *,
    grace: timedelta,
    actor: str,
    now: datetime,
    hasher: SecretHasher,
) -> RotatedSecret:
    """Give a confidential client a new secret; the current one is still accepted for
    ``grace`` (0 to 7 days; 0 ends it at once). A secret rotated out earlier and still in its
    grace stops now: only the one secret before the new one is kept."""
    if not client.is_confidential or client.secret_hash is None:
        raise InvalidRequest("A public client has no secret to rotate.")
    if grace < timedelta(0) or grace > MAX_GRACE:
        raise InvalidRequest("The grace period must be between 0 and 7 days.")
    secret = new_secret("cs_")
    until = now + grace if grace > timedelta(0) else None
    if not await storage.replace_secret(
        conn,
        client.id,
        expected_hash=client.secret_hash,
        secret_hash=hasher.hash(secret),
        previous_secret_hash=client.secret_hash if until is not None else None,
        previous_secret_expires_at=until,
    ):
        raise ConflictError("The secret was rotated or the client deleted meanwhile; try again.")
    await audit.record(
        conn,
        action="client.secret_rotated",
        actor=actor,
        now=now,
        client_id=client.id,
        detail={
            "grace_seconds": int(grace.total_seconds()),
            "previous_accepted_until": until.isoformat() if until is not None else None,
        },
    )
    return RotatedSecret(await existing_client(conn, client.id), secret, until)


async def set_verified(
    conn: AsyncConnection, client: Client, *, verified: bool, actor: str, now: datetime
) -> Client:
    """Mark the client's publisher as known to the operator (or no longer): the consent screen
    and the connected-apps page drop (or show) the Unverified mark."""
    if not await storage.set_verified(conn, client.id, verified=verified):
        raise NotFound(f"no client with the id {client.id!r}")
    await audit.record(
        conn,
        action="client.verified" if verified else "client.unverified",
        actor=actor,
        now=now,
        client_id=client.id,
    )
    return await existing_client(conn, client.id)


async def delete_client(
    conn: AsyncConnection, client: Client, *, actor: str, now: datetime, reason: str
) -> int:
    """Delete the client and revoke every grant it holds (their tokens then answer 410); the
    number of grants revoked. Its id, secrets and registration access token stop working."""
    if not await storage.mark_deleted(conn, client.id, now=now):
        raise NotFound(f"no client with the id {client.id!r}")
    revoked = 0
    for grant in await grants.list_grants(conn, client_id=client.id):
        if await grants.revoke_grant(conn, grant.id, actor=actor, now=now, reason=reason):
            revoked += 1
    await audit.record(
        conn,
        action="client.deleted",
        actor=actor,
        now=now,
        client_id=client.id,
        detail={"reason": reason, "grants_revoked": revoked},
    )
    return revoked
