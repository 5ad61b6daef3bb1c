"""The ``authorization_requests`` table (pending requests of the authorization code flow,
RFC 6749 §4.1.1): the only module that reads or writes it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.scopes import format_scope
from i18n_connect.storage.oauth_tables import authorization_requests

__all__ = [
    "StoredRequest",
    "complete_request",
    "delete_expired_requests",
    "get_request",
    "insert_request",
    "move_pending_requests",
    "set_completion",
]


@dataclass(frozen=True, slots=True)
class StoredRequest:
    id: str
    session_hash: str
    client_id: str
    redirect_uri: str
    scope: tuple[str, ...]
    state: str | None
    code_challenge: str
    resource: str | None
    created_at: datetime
    expires_at: datetime
    completed_at: datetime | None = None
    completion: str | None = None


async def insert_request(conn: AsyncConnection, *, request: StoredRequest) -> None:
    await conn.execute(
        insert(authorization_requests).values(
            id=request.id,
            session_hash=request.session_hash,
            client_id=request.client_id,
            redirect_uri=request.redirect_uri,
            scope=format_scope(request.scope),
            state=request.state,
            code_challenge=request.code_challenge,
            resource=request.resource,
            created_at=request.created_at,
            expires_at=request.expires_at,
        )
    )


async def get_request(conn: AsyncConnection, *, request_id: str) -> StoredRequest | None:
    row = (
        await conn.execute(
            select(authorization_requests).where(authorization_requests.c.id == request_id)
        )
    ).first()
    if row is None:
        return None
    return StoredRequest(
        id=row.id,
        session_hash=row.session_hash,
        client_id=row.client_id,
        redirect_uri=row.redirect_uri,
        scope=tuple(row.scope.split()),
        state=row.state,
        code_challenge=row.code_challenge,
        resource=row.resource,
        created_at=row.created_at,
        expires_at=row.expires_at,
        completed_at=row.completed_at,
        completion=row.completion,
    )


async def complete_request(
    conn: AsyncConnection,
    *,
    request_id: str,
    now: datetime,
    completion: str | None,
    expires_at: datetime,
) -> bool:
    """Mark a pending, unexpired request answered (a conditional update); ``False`` when it
    was answered or had expired."""
    result = await conn.execute(
        update(authorization_requests)
        .where(
            authorization_requests.c.id == request_id,
            authorization_requests.c.completed_at.is_(None),
            authorization_requests.c.expires_at > now,
        )
        .values(completed_at=now, completion=completion, expires_at=expires_at)
    )
    return result.rowcount == 1


async def set_completion(conn: AsyncConnection, *, request_id: str, completion: str) -> None:
    await conn.execute(
        update(authorization_requests)
        .where(authorization_requests.c.id == request_id)
        .values(completion=completion)
    )


async def move_pending_requests(
    conn: AsyncConnection, *, from_session_hash: str, to_session_hash: str
) -> None:
    """Rebind the unanswered requests of one browser session to another."""
    await conn.execute(
        update(authorization_requests)
        .where(
            authorization_requests.c.session_hash == from_session_hash,
            authorization_requests.c.completed_at.is_(None),
        )
        .values(session_hash=to_session_hash)
    )


async def delete_expired_requests(conn: AsyncConnection, *, now: datetime) -> int:
    """Delete the requests expired by ``now``; how many went."""
    result = await conn.execute(
        delete(authorization_requests).where(authorization_requests.c.expires_at <= now)
    )
    return int(result.rowcount or 0)
