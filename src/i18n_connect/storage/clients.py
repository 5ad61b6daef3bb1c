"""The ``oauth_clients`` table: the only module that reads or writes it (but for the readers
listed as not yet moved in tests/storage/test_table_ownership.py).

A deleted client keeps its row, marked ``deleted_at``, so that the tokens of its revoked
grants answer 410 rather than 401; every read here skips it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal, cast

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.oauth_tables import oauth_clients
from i18n_connect.storage.statements import Statement

__all__ = [
    "DEFAULT_GRANT_TYPES",
    "AuthMethod",
    "Client",
    "client_name",
    "get_client",
    "insert_client",
    "list_clients",
    "mark_deleted",
    "replace_metadata",
    "replace_secret",
    "set_verified",
    "stamp_last_used",
]

AuthMethod = Literal["none", "client_secret_basic", "client_secret_post"]
DEFAULT_GRANT_TYPES = ("authorization_code", "refresh_token")
_LIVE = oauth_clients.c.deleted_at.is_(None)


@dataclass(frozen=True, slots=True)
class Client:
    id: str
    name: str
    redirect_uris: tuple[str, ...]
    token_endpoint_auth_method: AuthMethod
    scope: str | None
    origin: str  # cli | registration | metadata_document
    verified: bool
    created_at: datetime
    secret_hash: str | None = field(default=None, repr=False)
    last_used_at: datetime | None = None
    client_uri: str | None = None
    logo_uri: str | None = None
    registration_token_hash: str | None = field(default=None, repr=False)
    previous_secret_hash: str | None = field(default=None, repr=False)
    previous_secret_expires_at: datetime | None = None
    grant_types: tuple[str, ...] = DEFAULT_GRANT_TYPES  # RFC 7591 §2

    @property
    def is_confidential(self) -> bool:
        return self.token_endpoint_auth_method != "none"  # noqa: S105

    def previous_secret_accepted(self, now: datetime) -> bool:
        """Whether the secret replaced by the last rotation is still accepted (its grace)."""
        return (
            self.previous_secret_hash is not None
            and self.previous_secret_expires_at is not None
            and now < self.previous_secret_expires_at
        )


def _client(row: Any) -> Client:
    return Client(
        id=row.id,
        name=row.name,
        redirect_uris=tuple(row.redirect_uris),
        token_endpoint_auth_method=cast(AuthMethod, row.token_endpoint_auth_method),
        scope=row.scope,
        origin=row.origin,
        verified=row.verified,
        created_at=row.created_at,
        secret_hash=row.secret_hash,
        last_used_at=row.last_used_at,
        client_uri=row.client_uri,
        logo_uri=row.logo_uri,
        registration_token_hash=row.registration_token_hash,
        previous_secret_hash=row.previous_secret_hash,
        previous_secret_expires_at=row.previous_secret_expires_at,
        grant_types=tuple(row.grant_types or DEFAULT_GRANT_TYPES),
    )


_CLIENT_BY_ID = Statement(select(oauth_clients).where(oauth_clients.c.id == bindparam("id"), _LIVE))
_STAMP_LAST_USED = Statement(
    update(oauth_clients)
    .where(oauth_clients.c.id == bindparam("id"))
    .values(last_used_at=bindparam("now"))
)


async def get_client(conn: AsyncConnection, client_id: str) -> Client | None:
    """The client, or ``None`` when the id is unknown or the client was deleted."""
    row = await _CLIENT_BY_ID.first(conn, id=client_id)
    return _client(row) if row is not None else None


async def client_name(conn: AsyncConnection, client_id: str) -> str | None:
    """The client's name, a deleted client's included (the audit trail names apps that are
    gone); ``None`` for an unknown id."""
    name: str | None = await conn.scalar(
        select(oauth_clients.c.name).where(oauth_clients.c.id == client_id)
    )
    return name


async def list_clients(conn: AsyncConnection) -> list[Client]:
    """Every client that is not deleted, oldest first."""
    rows = await conn.execute(
        select(oauth_clients).where(_LIVE).order_by(oauth_clients.c.created_at, oauth_clients.c.id)
    )
    return [_client(row) for row in rows]


async def insert_client(conn: AsyncConnection, client: Client) -> None:
    await conn.execute(
        insert(oauth_clients).values(
            id=client.id,
            name=client.name,
            secret_hash=client.secret_hash,
            token_endpoint_auth_method=client.token_endpoint_auth_method,
            redirect_uris=list(client.redirect_uris),
            scope=client.scope,
            client_uri=client.client_uri,
            logo_uri=client.logo_uri,
            origin=client.origin,
            verified=client.verified,
            created_at=client.created_at,
            registration_token_hash=client.registration_token_hash,
            grant_types=_stored_grant_types(client.grant_types),
        )
    )


def _stored_grant_types(grant_types: Sequence[str]) -> list[str] | None:
    return None if tuple(grant_types) == DEFAULT_GRANT_TYPES else list(grant_types)


async def _update(conn: AsyncConnection, client_id: str, *where: Any, **values: Any) -> bool:
    result = await conn.execute(
        update(oauth_clients).where(oauth_clients.c.id == client_id, _LIVE, *where).values(**values)
    )
    return result.rowcount == 1


async def replace_metadata(
    conn: AsyncConnection,
    client_id: str,
    *,
    name: str,
    redirect_uris: Sequence[str],
    scope: str | None,
    token_endpoint_auth_method: AuthMethod,
    client_uri: str | None,
    logo_uri: str | None,
    grant_types: Sequence[str] = DEFAULT_GRANT_TYPES,
) -> bool:
    """Replace the client's metadata; ``False`` when it is unknown or deleted."""
    return await _update(
        conn,
        client_id,
        name=name,
        redirect_uris=list(redirect_uris),
        scope=scope,
        token_endpoint_auth_method=token_endpoint_auth_method,
        client_uri=client_uri,
        logo_uri=logo_uri,
        grant_types=_stored_grant_types(grant_types),
    )


async def replace_secret(
    conn: AsyncConnection,
    client_id: str,
    *,
    expected_hash: str,
    secret_hash: str,
    previous_secret_hash: str | None,
    previous_secret_expires_at: datetime | None,
) -> bool:
    """Set a new secret hash if the current one is still ``expected_hash``; ``False`` when a
    concurrent rotation (or a deletion) came first."""
    return await _update(
        conn,
        client_id,
        oauth_clients.c.secret_hash == expected_hash,
        secret_hash=secret_hash,
        previous_secret_hash=previous_secret_hash,
        previous_secret_expires_at=previous_secret_expires_at,
    )


async def set_verified(conn: AsyncConnection, client_id: str, *, verified: bool) -> bool:
    return await _update(conn, client_id, verified=verified)


async def mark_deleted(conn: AsyncConnection, client_id: str, *, now: datetime) -> bool:
    """Delete the client, dropping every credential it had; ``False`` when it was already
    deleted or is unknown (a concurrent deletion loses here)."""
    return await _update(
        conn,
        client_id,
        deleted_at=now,
        secret_hash=None,
        previous_secret_hash=None,
        previous_secret_expires_at=None,
        registration_token_hash=None,
        metadata_expires_at=None,  # a metadata document is fetched afresh if used again
    )


async def stamp_last_used(conn: AsyncConnection, client_id: str, *, now: datetime) -> None:
    await _STAMP_LAST_USED.rowcount(conn, id=client_id, now=now)
