"""The ``grants`` table and what is issued under a grant — ``refresh_chains``, ``refresh_tokens``
and ``installation_tokens``: the only module that reads or writes them.

One family because their queries join each other: a token is always looked up with its grant
(`refresh_token_with_grant`, built by `_with_grant`, and `installation_token_with_grant`), and
a grant is checked together with the chain of the access token that names it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Row,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    exists,
    func,
    insert,
    null,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect.storage.oauth_tables import (
    grants,
    installation_tokens,
    refresh_chains,
    refresh_tokens,
)
from i18n_connect.storage.statements import Statement
from i18n_connect.storage.tables import memberships
from i18n_connect.storage.unique import insert_unique

__all__ = [
    "Grant",
    "chain_end_reason",
    "chain_ended",
    "claim_grant",
    "client_has_live_grant",
    "clients_granted_on",
    "delete_expired_tokens",
    "end_chain",
    "ended_chains",
    "get_grant",
    "insert_chain",
    "insert_grant",
    "insert_installation_token",
    "insert_refresh_token",
    "installation_token_with_grant",
    "list_grants",
    "live_chains_beyond",
    "live_grant",
    "live_grants_of_access_token",
    "live_installation_tokens",
    "live_successor",
    "lock_grant",
    "lock_grant_for_mint",
    "mark_grant_revoked",
    "open_chain",
    "refresh_token_by_hash",
    "refresh_token_by_id",
    "refresh_token_to_rotate",
    "refresh_token_with_grant",
    "revoke_grant_tokens",
    "revoke_installation_token",
    "revoke_installation_tokens",
    "rotate_refresh_token",
    "touch_grant_if_stale",
    "update_grant_projects",
    "update_grant_scope",
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
    project_ids: tuple[str, ...] | None = None  # None: every project, including future ones
    request_id: str | None = None  # the approved request that let a member give it

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
        project_ids=None if row.project_ids is None else tuple(row.project_ids),
        request_id=row.request_id,
    )


def _with_grant(tokens: Table, *columns: ColumnElement[Any]) -> Select[Any]:
    """The token stored as ``:token_hash`` in ``tokens`` joined to its grant: every token column,
    the grant's ``user_id`` and ``client_id``, its ``scope``, ``revoked_at`` and
    ``last_used_at`` as ``grant_…``, and ``columns``."""
    return (
        select(
            tokens,
            grants.c.user_id,
            grants.c.client_id,
            grants.c.scope.label("grant_scope"),
            grants.c.revoked_at.label("grant_revoked_at"),
            grants.c.last_used_at.label("grant_last_used_at"),
            grants.c.project_ids.label("grant_project_ids"),
            grants.c.request_id.label("grant_request_id"),
            *columns,
        )
        .join_from(tokens, grants, grants.c.id == tokens.c.grant_id)
        .where(tokens.c.token_hash == bindparam("token_hash"))
    )


def _revoked_chain(
    grant_id: ColumnElement[Any], chain_ids: list[str] | BindParameter[Any]
) -> ColumnElement[bool]:
    """Whether one of ``chain_ids`` (a list, or a bound parameter of one id) is an ended chain
    of the grant ``grant_id``: the access-token check, inside the query that loads the grant."""
    chain = (
        refresh_chains.c.id.in_(chain_ids)
        if isinstance(chain_ids, list)
        else refresh_chains.c.id == chain_ids
    )
    return exists().where(
        chain, refresh_chains.c.grant_id == grant_id, refresh_chains.c.revoked_at.is_not(None)
    )


# Grants.

_LOCK = Statement(select(grants.c.id).where(grants.c.id == bindparam("id")).with_for_update())
_LOCK_FOR_MINT = Statement(
    select(
        grants.c.user_id,
        grants.c.client_id,
        grants.c.organization_id,
        grants.c.scope,
        grants.c.revoked_at,
        grants.c.project_ids,
    )
    .where(grants.c.id == bindparam("id"))
    .with_for_update()  # a concurrent re-consent or revocation waits for this mint
)
_TOUCH = Statement(
    update(grants).where(grants.c.id == bindparam("id")).values(last_used_at=bindparam("now"))
)
_TOUCH_IF_STALE = Statement(
    update(grants)
    .where(
        grants.c.id == bindparam("id"),
        or_(grants.c.last_used_at.is_(None), grants.c.last_used_at <= bindparam("stale_before")),
    )
    .values(last_used_at=bindparam("now"))
)
_CLAIM = Statement(
    update(grants)
    .where(
        grants.c.id == bindparam("id"),
        grants.c.revoked_at.is_(None),
        grants.c.client_id == bindparam("client_id"),
        grants.c.user_id == bindparam("user_id"),
    )
    .values(last_used_at=bindparam("now"))
    .returning(
        grants.c.id,
        grants.c.user_id,
        grants.c.client_id,
        grants.c.organization_id,
        grants.c.scope,
        grants.c.project_ids,
    )
)
# Asked after the grant's lock is held, in a statement of its own: on PostgreSQL it then sees
# a chain ended by the transaction the lock waited for (and that one revoked every token of
# the chain it could see).
_CHAIN_ENDED = Statement(
    select(_revoked_chain(bindparam("grant_id"), bindparam("chain_id")).label("ended"))
)


async def get_grant(conn: AsyncConnection, *, grant_id: str) -> Grant | None:
    row = (await conn.execute(select(grants).where(grants.c.id == grant_id))).first()
    return _grant(row) if row is not None else None


async def live_grant(
    conn: AsyncConnection, *, user_id: str, client_id: str, organization_id: str
) -> Grant | None:
    """The one live grant of the user for the client on the organization, if any."""
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


async def list_grants(
    conn: AsyncConnection,
    *,
    user_id: str | None,
    organization_id: str | None,
    client_id: str | None,
    include_revoked: bool,
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


async def clients_granted_on(
    conn: AsyncConnection, *, organization_id: str, project_id: str | None = None
) -> list[str]:
    """The clients holding a live grant on the organization — one covering ``project_id``
    when it is given (a grant limited to other projects does not)."""
    rows = await conn.execute(
        select(grants.c.client_id, grants.c.project_ids)
        .where(grants.c.organization_id == organization_id, grants.c.revoked_at.is_(None))
        .order_by(grants.c.client_id)
    )
    return list(
        dict.fromkeys(
            row.client_id
            for row in rows
            if project_id is None or row.project_ids is None or project_id in row.project_ids
        )
    )


async def live_grants_of_access_token(
    conn: AsyncConnection,
    *,
    grant_ids: Sequence[str],
    client_id: str,
    user_id: str,
    chain_ids: Sequence[str],
) -> list[Any]:
    """``id``, ``organization_id``, ``scope`` and ``last_used_at`` of those of ``grant_ids``
    that are live, the client's and the user's, and whose chain among ``chain_ids`` has not
    ended."""
    rows = await conn.execute(
        select(
            grants.c.id,
            grants.c.organization_id,
            grants.c.scope,
            grants.c.last_used_at,
            grants.c.project_ids,
        ).where(
            grants.c.id.in_(grant_ids),
            grants.c.client_id == client_id,
            grants.c.user_id == user_id,
            grants.c.revoked_at.is_(None),
            ~_revoked_chain(grants.c.id, list(chain_ids)),
        )
    )
    return list(rows.all())


def client_has_live_grant(client_id: ColumnElement[Any]) -> ColumnElement[bool]:
    """Whether the client ``client_id`` (a column of the caller's statement) holds a live
    grant, checked inside that statement."""
    return exists().where(and_(grants.c.client_id == client_id, grants.c.revoked_at.is_(None)))


async def insert_grant(
    conn: AsyncConnection,
    *,
    grant_id: str,
    user_id: str,
    client_id: str,
    organization_id: str,
    scope: str,
    project_ids: Sequence[str] | None,
    now: datetime,
    request_id: str | None = None,
) -> bool:
    """Insert a live grant; ``False`` when a concurrent consent inserted the live one first."""
    return await insert_unique(
        conn,
        insert(grants).values(
            id=grant_id,
            user_id=user_id,
            client_id=client_id,
            organization_id=organization_id,
            scope=scope,
            project_ids=None if project_ids is None else list(project_ids),
            request_id=request_id,
            created_at=now,
            updated_at=now,
        ),
    )


async def update_grant_scope(
    conn: AsyncConnection, *, grant_id: str, scope: str, now: datetime
) -> None:
    await conn.execute(
        update(grants).where(grants.c.id == grant_id).values(scope=scope, updated_at=now)
    )


async def update_grant_projects(
    conn: AsyncConnection, *, grant_id: str, project_ids: Sequence[str] | None, now: datetime
) -> None:
    """Set the projects the grant covers (``None``: every project, including future ones)."""
    await conn.execute(
        update(grants)
        .where(grants.c.id == grant_id)
        .values(project_ids=None if project_ids is None else list(project_ids), updated_at=now)
    )


async def mark_grant_revoked(
    conn: AsyncConnection, *, grant_id: str, actor: str, now: datetime
) -> bool:
    """Revoke the live grant; ``False`` if it is already revoked (or unknown)."""
    result = await conn.execute(
        update(grants)
        .where(grants.c.id == grant_id, grants.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_by=actor)
    )
    return result.rowcount == 1


async def lock_grant(conn: AsyncConnection, *, grant_id: str) -> None:
    """Take the grant's row lock (PostgreSQL; SQLite writers queue)."""
    await _LOCK.all(conn, id=grant_id)


async def lock_grant_for_mint(conn: AsyncConnection, *, grant_id: str) -> Any | None:
    """The grant's ``user_id``, ``client_id``, ``organization_id``, ``scope`` and
    ``revoked_at``, its row locked; ``None`` if unknown."""
    return await _LOCK_FOR_MINT.first(conn, id=grant_id)


async def touch_grant_if_stale(
    conn: AsyncConnection, *, grant_id: str, stale_before: datetime, now: datetime
) -> None:
    """Set the grant's ``last_used_at`` unless it is later than ``stale_before``."""
    await _TOUCH_IF_STALE.rowcount(conn, id=grant_id, stale_before=stale_before, now=now)


async def claim_grant(
    conn: AsyncConnection, *, grant_id: str, client_id: str, user_id: str, now: datetime
) -> Any | None:
    """Set ``last_used_at`` of the grant if it is live, the client's and the user's: its
    ``id``, ``user_id``, ``client_id``, ``organization_id`` and ``scope``; ``None`` otherwise."""
    return await _CLAIM.first(conn, id=grant_id, client_id=client_id, user_id=user_id, now=now)


async def chain_ended(conn: AsyncConnection, *, grant_id: str, chain_id: str) -> bool:
    """Whether ``chain_id`` is an ended chain of the grant."""
    return bool((await _CHAIN_ENDED.one(conn, grant_id=grant_id, chain_id=chain_id)).ended)


async def revoke_grant_tokens(conn: AsyncConnection, *, grant_id: str, now: datetime) -> None:
    """Delete the grant's refresh chains and tokens and revoke its installation tokens."""
    await conn.execute(delete(refresh_tokens).where(refresh_tokens.c.grant_id == grant_id))
    await conn.execute(delete(refresh_chains).where(refresh_chains.c.grant_id == grant_id))
    await revoke_installation_tokens(conn, grant_id=grant_id, now=now)


# Refresh chains.

_INSERT_CHAIN = Statement.insert(refresh_chains)
_END_CHAIN = Statement(
    update(refresh_chains)
    .where(refresh_chains.c.id == bindparam("id"), refresh_chains.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"), revoked_reason=bindparam("reason"))
)
_REVOKE_CHAIN_REFRESH_TOKENS = Statement(
    update(refresh_tokens)
    .where(refresh_tokens.c.chain_id == bindparam("id"), refresh_tokens.c.revoked_at.is_(None))
    .values(revoked_at=bindparam("now"))
)
_REVOKE_CHAIN_INSTALLATION_TOKENS = Statement(
    update(installation_tokens)
    .where(
        installation_tokens.c.chain_id == bindparam("id"),
        installation_tokens.c.revoked_at.is_(None),
    )
    .values(revoked_at=bindparam("now"))
)
_CHAIN_END_REASON = Statement(
    select(refresh_chains.c.revoked_reason).where(refresh_chains.c.id == bindparam("id"))
)


async def insert_chain(
    conn: AsyncConnection, *, chain_id: str, grant_id: str, code_id: str | None, now: datetime
) -> None:
    await _INSERT_CHAIN.rowcount(
        conn,
        id=chain_id,
        grant_id=grant_id,
        code_id=code_id,
        created_at=now,
        revoked_at=None,
        revoked_reason=None,
    )


async def end_chain(conn: AsyncConnection, *, chain_id: str, now: datetime, reason: str) -> bool:
    """Mark the live chain ended for ``reason`` and revoke its refresh tokens and the
    installation tokens minted with its access tokens; ``False`` if it had already ended."""
    if await _END_CHAIN.rowcount(conn, id=chain_id, now=now, reason=reason) != 1:
        return False
    await _REVOKE_CHAIN_REFRESH_TOKENS.rowcount(conn, id=chain_id, now=now)
    await _REVOKE_CHAIN_INSTALLATION_TOKENS.rowcount(conn, id=chain_id, now=now)
    return True


async def chain_end_reason(conn: AsyncConnection, *, chain_id: str) -> str | None:
    """Why the chain ended; ``None`` if it is live or unknown."""
    row = await _CHAIN_END_REASON.first(conn, id=chain_id)
    return row.revoked_reason if row is not None else None


async def ended_chains(conn: AsyncConnection, *, chain_ids: Sequence[str]) -> list[Any]:
    """``id`` and ``grant_id`` of the ended chains among ``chain_ids``."""
    rows = await conn.execute(
        select(refresh_chains.c.id, refresh_chains.c.grant_id).where(
            refresh_chains.c.id.in_(chain_ids), refresh_chains.c.revoked_at.is_not(None)
        )
    )
    return list(rows.all())


_LIVE_CHAINS_BEYOND_QUERY = (
    select(refresh_chains.c.id)
    .outerjoin(refresh_tokens, refresh_tokens.c.chain_id == refresh_chains.c.id)
    .where(
        refresh_chains.c.grant_id == bindparam("grant_id"), refresh_chains.c.revoked_at.is_(None)
    )
    .group_by(refresh_chains.c.id, refresh_chains.c.created_at)
    .order_by(
        func.coalesce(func.max(refresh_tokens.c.created_at), refresh_chains.c.created_at).desc(),
        refresh_chains.c.id,
    )
    .limit(bindparam("most"))
    .offset(bindparam("keep"))
)
_LIVE_CHAINS_BEYOND = Statement(_LIVE_CHAINS_BEYOND_QUERY)
_MOST_CHAINS = 1_000_000  # no limit, in a form every backend accepts


async def live_chains_beyond(conn: AsyncConnection, *, grant_id: str, keep: int) -> list[str]:
    """The grant's live chains after the ``keep`` most recently refreshed (or started) ones,
    in that order; found through the (grant, revoked) index, so ended chains cost nothing."""
    rows = await _LIVE_CHAINS_BEYOND.all(conn, grant_id=grant_id, keep=keep, most=_MOST_CHAINS)
    return [row.id for row in rows]


# Refresh tokens.

_INSERT_REFRESH_TOKEN = Statement.insert(refresh_tokens)
_REFRESH_TOKEN_BY_ID = Statement(
    select(refresh_tokens).where(refresh_tokens.c.id == bindparam("id"))
)
_REFRESH_TOKEN_BY_HASH = Statement(
    select(refresh_tokens).where(refresh_tokens.c.token_hash == bindparam("token_hash"))
)
_MARK_USED = Statement(
    update(refresh_tokens)
    .where(
        refresh_tokens.c.id == bindparam("id"),
        refresh_tokens.c.used_at.is_(None),
        refresh_tokens.c.revoked_at.is_(None),
    )
    .values(used_at=bindparam("now"))
)
# The user's membership is joined here rather than asked of `storage.organizations`: a
# rotation then costs one read, not two.
_refresh_token_with_grant = (
    _with_grant(
        refresh_tokens,
        grants.c.organization_id,
        refresh_chains.c.revoked_reason.label("chain_end_reason"),
        memberships.c.role,
    )
    .join(refresh_chains, refresh_chains.c.id == refresh_tokens.c.chain_id)
    .outerjoin(
        memberships,
        and_(
            memberships.c.organization_id == grants.c.organization_id,
            memberships.c.user_id == grants.c.user_id,
        ),
    )
)
_REFRESH_TOKEN_WITH_GRANT = Statement(_refresh_token_with_grant)
# Rotation reads the token and takes its grant's row lock in one statement: concurrent
# changes of the grant's chains (rotation, reuse, revocation) are ordered from here on.
_REFRESH_TOKEN_TO_ROTATE = Statement(_refresh_token_with_grant.with_for_update(of=grants))


def _chain_with_first_token() -> Statement:
    """PostgreSQL, one statement (data-modifying CTEs): the grant's live chains beyond
    ``keep`` as they were before, a new chain, and its first refresh token."""
    now = bindparam("now", type_=refresh_chains.c.created_at.type)
    beyond = _LIVE_CHAINS_BEYOND_QUERY.cte("beyond")
    chain = (
        insert(refresh_chains)
        .values(
            id=bindparam("chain_id", type_=refresh_chains.c.id.type),
            grant_id=bindparam("grant_id", type_=refresh_chains.c.grant_id.type),
            code_id=bindparam("code_id", type_=refresh_chains.c.code_id.type),
            created_at=now,
            revoked_at=null(),
            revoked_reason=null(),
        )
        .cte("chain")
    )
    given = {
        "id": bindparam("token_id", type_=refresh_tokens.c.id.type),
        "chain_id": bindparam("chain_id", type_=refresh_tokens.c.chain_id.type),
        "parent_id": null(),
        "created_at": now,
        "used_at": null(),
        "revoked_at": null(),
    }
    token = (
        insert(refresh_tokens)
        .values(
            {
                column: given.get(column.key, bindparam(column.key, type_=column.type))
                for column in refresh_tokens.c
            }
        )
        .cte("token")
    )
    return Statement(select(beyond.c.id).add_cte(chain).add_cte(token))


_CHAIN_WITH_FIRST_TOKEN = _chain_with_first_token()


async def open_chain(
    conn: AsyncConnection,
    *,
    chain_id: str,
    grant_id: str,
    code_id: str | None,
    keep: int,
    token_id: str,
    token_hash: str,
    scope: str,
    resource: str | None,
    now: datetime,
    expires_at: datetime,
) -> list[str]:
    """Store a new chain of the grant with its first refresh token; the grant's live chains
    beyond the ``keep`` most recently used ones before it (for the caller to end). One round
    trip on PostgreSQL; on SQLite, whose statements run in-process, three."""
    token = {
        "token_hash": token_hash,
        "grant_id": grant_id,
        "code_id": code_id,
        "scope": scope,
        "resource": resource,
        "expires_at": expires_at,
    }
    if conn.dialect.name == "postgresql":
        rows = await _CHAIN_WITH_FIRST_TOKEN.all(
            conn,
            chain_id=chain_id,
            keep=keep,
            most=_MOST_CHAINS,
            token_id=token_id,
            now=now,
            **token,
        )
        return [row.id for row in rows]
    beyond = await live_chains_beyond(conn, grant_id=grant_id, keep=keep)
    await insert_chain(conn, chain_id=chain_id, grant_id=grant_id, code_id=code_id, now=now)
    await insert_refresh_token(
        conn,
        token_id=token_id,
        token_hash=token_hash,
        grant_id=grant_id,
        chain_id=chain_id,
        code_id=code_id,
        parent_id=None,
        scope=scope,
        resource=resource,
        now=now,
        expires_at=expires_at,
    )
    return beyond


async def insert_refresh_token(
    conn: AsyncConnection,
    *,
    token_id: str,
    token_hash: str,
    grant_id: str,
    chain_id: str,
    code_id: str | None,
    parent_id: str | None,
    scope: str,
    resource: str | None,
    now: datetime,
    expires_at: datetime,
) -> None:
    await _INSERT_REFRESH_TOKEN.rowcount(
        conn,
        id=token_id,
        token_hash=token_hash,
        grant_id=grant_id,
        chain_id=chain_id,
        code_id=code_id,
        parent_id=parent_id,
        scope=scope,
        resource=resource,
        created_at=now,
        expires_at=expires_at,
        used_at=None,
        revoked_at=None,
    )


async def refresh_token_by_id(conn: AsyncConnection, *, token_id: str) -> Any | None:
    return await _REFRESH_TOKEN_BY_ID.first(conn, id=token_id)


async def refresh_token_by_hash(conn: AsyncConnection, *, token_hash: str) -> Any | None:
    return await _REFRESH_TOKEN_BY_HASH.first(conn, token_hash=token_hash)


async def refresh_token_with_grant(conn: AsyncConnection, *, token_hash: str) -> Any | None:
    """The refresh token with its grant (see `_with_grant`), the grant's ``organization_id``,
    its chain's ``chain_end_reason`` and the user's ``role`` in the organization (``None``
    when no longer a member); ``None`` if unknown."""
    return await _REFRESH_TOKEN_WITH_GRANT.first(conn, token_hash=token_hash)


async def refresh_token_to_rotate(conn: AsyncConnection, *, token_hash: str) -> Any | None:
    """`refresh_token_with_grant`, holding the grant's row lock until the transaction ends."""
    return await _REFRESH_TOKEN_TO_ROTATE.first(conn, token_hash=token_hash)


def _successor_of_used_parent() -> Statement:
    """PostgreSQL, one statement (data-modifying CTEs): mark the parent used if it is unused
    and unrevoked, touch its grant, and insert the successor only if the parent was marked."""
    now = bindparam("now", type_=refresh_tokens.c.created_at.type)
    used = (
        update(refresh_tokens)
        .where(
            refresh_tokens.c.id == bindparam("parent_id", type_=refresh_tokens.c.id.type),
            refresh_tokens.c.used_at.is_(None),
            refresh_tokens.c.revoked_at.is_(None),
        )
        .values(used_at=now)
        .returning(refresh_tokens.c.id)
        .cte("used")
    )
    touched = (
        update(grants)
        .where(grants.c.id == bindparam("grant_id", type_=grants.c.id.type))
        .values(last_used_at=now)
        .returning(grants.c.id)
        .cte("touched")
    )
    given = {"created_at": now, "used_at": null(), "revoked_at": null(), "parent_id": used.c.id}
    values = [
        given.get(column.key, bindparam(column.key, type_=column.type))
        for column in refresh_tokens.c
    ]
    return Statement(
        insert(refresh_tokens)
        .from_select(list(refresh_tokens.c), select(*values).select_from(used))
        .add_cte(touched)
    )


_SUCCESSOR_OF_USED_PARENT = _successor_of_used_parent()


async def rotate_refresh_token(
    conn: AsyncConnection,
    *,
    parent_id: str,
    grant_id: str,
    successor_id: str,
    successor_hash: str,
    chain_id: str,
    code_id: str | None,
    scope: str,
    resource: str | None,
    now: datetime,
    expires_at: datetime,
) -> bool:
    """Mark the parent token used, touch its grant and store its successor, all or nothing:
    ``False`` (nothing written) if a concurrent use or revocation of the parent came first.
    One round trip on PostgreSQL; on SQLite, whose statements run in-process, three."""
    successor = {
        "id": successor_id,
        "token_hash": successor_hash,
        "grant_id": grant_id,
        "chain_id": chain_id,
        "code_id": code_id,
        "scope": scope,
        "resource": resource,
        "expires_at": expires_at,
    }
    if conn.dialect.name == "postgresql":
        return (
            await _SUCCESSOR_OF_USED_PARENT.rowcount(
                conn, parent_id=parent_id, now=now, **successor
            )
            == 1
        )
    if await _MARK_USED.rowcount(conn, id=parent_id, now=now) != 1:
        return False
    await _TOUCH.rowcount(conn, id=grant_id, now=now)
    await _INSERT_REFRESH_TOKEN.rowcount(
        conn, parent_id=parent_id, created_at=now, used_at=None, revoked_at=None, **successor
    )
    return True


async def live_successor(conn: AsyncConnection, *, parent_id: str) -> Row[Any] | None:
    """``used_at`` of the unrevoked token rotated from ``parent_id``, if any."""
    return (
        await conn.execute(
            select(refresh_tokens.c.used_at).where(
                refresh_tokens.c.parent_id == parent_id, refresh_tokens.c.revoked_at.is_(None)
            )
        )
    ).first()


# Installation tokens.

_INSERT_INSTALLATION_TOKEN = Statement.insert(installation_tokens)
# What the callers read (the partner API's and MCP's authentication on every call, revocation,
# introspection): no hash, chain, grant scope or request to fetch and convert.
_INSTALLATION_TOKEN_WITH_GRANT = Statement(
    select(
        installation_tokens.c.id,
        installation_tokens.c.grant_id,
        installation_tokens.c.organization_id,
        installation_tokens.c.project_ids,
        installation_tokens.c.scope,
        installation_tokens.c.created_at,
        installation_tokens.c.expires_at,
        installation_tokens.c.revoked_at,
        grants.c.user_id,
        grants.c.client_id,
        grants.c.revoked_at.label("grant_revoked_at"),
        grants.c.last_used_at.label("grant_last_used_at"),
        grants.c.project_ids.label("grant_project_ids"),
    )
    .join_from(installation_tokens, grants, grants.c.id == installation_tokens.c.grant_id)
    .where(installation_tokens.c.token_hash == bindparam("token_hash"))
)


async def insert_installation_token(
    conn: AsyncConnection,
    *,
    token_id: str,
    token_hash: str,
    grant_id: str,
    organization_id: str,
    chain_id: str | None,
    project_ids: Sequence[str],
    scope: str,
    now: datetime,
    expires_at: datetime,
) -> None:
    await _INSERT_INSTALLATION_TOKEN.rowcount(
        conn,
        id=token_id,
        token_hash=token_hash,
        grant_id=grant_id,
        organization_id=organization_id,
        chain_id=chain_id,
        project_ids=list(project_ids),
        scope=scope,
        created_at=now,
        expires_at=expires_at,
        revoked_at=None,
    )


async def installation_token_with_grant(conn: AsyncConnection, *, token_hash: str) -> Any | None:
    """The installation token stored as ``token_hash``: its ``id``, ``grant_id``,
    ``organization_id``, ``project_ids``, ``scope``, ``created_at``, ``expires_at`` and
    ``revoked_at``, with its grant's ``user_id``, ``client_id`` and, as ``grant_…``,
    ``revoked_at``, ``last_used_at`` and ``project_ids``; ``None`` if unknown."""
    return await _INSTALLATION_TOKEN_WITH_GRANT.first(conn, token_hash=token_hash)


async def live_installation_tokens(conn: AsyncConnection, *, grant_id: str) -> list[Any]:
    """``id`` and ``scope`` of the grant's unrevoked installation tokens."""
    rows = await conn.execute(
        select(installation_tokens.c.id, installation_tokens.c.scope).where(
            installation_tokens.c.grant_id == grant_id,
            installation_tokens.c.revoked_at.is_(None),
        )
    )
    return list(rows.all())


async def revoke_installation_tokens(
    conn: AsyncConnection, *, grant_id: str, now: datetime, token_ids: list[str] | None = None
) -> None:
    """Revoke the grant's live installation tokens (only ``token_ids``, when given)."""
    query = update(installation_tokens).where(
        installation_tokens.c.grant_id == grant_id, installation_tokens.c.revoked_at.is_(None)
    )
    if token_ids is not None:
        query = query.where(installation_tokens.c.id.in_(token_ids))
    await conn.execute(query.values(revoked_at=now))


async def revoke_installation_token(conn: AsyncConnection, *, token_id: str, now: datetime) -> bool:
    """Revoke one live installation token; ``False`` if it was already revoked."""
    result = await conn.execute(
        update(installation_tokens)
        .where(installation_tokens.c.id == token_id, installation_tokens.c.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return result.rowcount == 1


async def delete_expired_tokens(conn: AsyncConnection, *, now: datetime) -> dict[str, int]:
    """Delete expired refresh and installation tokens, then the chains left without a refresh
    token; how many rows of each table went."""
    removed: dict[str, int] = {}
    for table in (refresh_tokens, installation_tokens):
        result = await conn.execute(delete(table).where(table.c.expires_at <= now))
        removed[table.name] = int(result.rowcount or 0)
    result = await conn.execute(
        delete(refresh_chains).where(
            ~exists().where(refresh_tokens.c.chain_id == refresh_chains.c.id)
        )
    )
    removed["refresh_chains"] = int(result.rowcount or 0)
    return removed
