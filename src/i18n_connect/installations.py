"""Installation tokens (SPEC §1 and §4): minted from an access token for one grant, used for
every partner-API and MCP call on one organization.

A token is ``bi_oat_`` + 256 random bits, lives one hour and is stored only as a
keyed hash. Its body may only narrow the grant: fewer projects of the grant's
organization, fewer scopes than the grant and the access token both hold.

`authenticate` asks the database on every call — one indexed query joining the
token to its grant — so a revoked grant or token answers 410 on the very next
request on every server process; nothing about a token is cached in memory.
An unknown token costs one read and no write.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit
from i18n_connect.errors import (
    GrantNotFound,
    GrantRevoked,
    InvalidRequest,
    InvalidToken,
    RateLimited,
    WrongProject,
)
from i18n_connect.grants import client_token
from i18n_connect.ids import SecretHasher, new_id, new_secret
from i18n_connect.oauth.access_tokens import AccessTokenClaims
from i18n_connect.scopes import CATALOG
from i18n_connect.storage import counters
from i18n_connect.storage import grants as stored
from i18n_connect.storage.projects import projects_of_organization
from i18n_connect.webhooks import events

__all__ = [
    "ENDED_CHAIN",
    "LAST_USED_RESOLUTION",
    "TOKEN_LIFETIME",
    "TOKEN_PREFIX",
    "InstallationContext",
    "MintedToken",
    "authenticate",
    "looks_like_installation_token",
    "mint",
    "revoke_token",
    "touch_grant",
]

TOKEN_PREFIX = "bi_oat_"  # noqa: S105 - a prefix, not a secret
TOKEN_LIFETIME = timedelta(hours=1)
LAST_USED_RESOLUTION = timedelta(minutes=1)  # a grant's last_used_at is written at most this often
_MAX_TOKEN_LENGTH = 100
ENDED_CHAIN = (
    "This access token was revoked: the refresh chain it was issued from has ended. "
    "Refresh, or authorize again."
)
_MINT_WINDOW_SECONDS = 60
_MAX_PROJECTS = 100


@dataclass(frozen=True, slots=True)
class MintedToken:
    token: str  # shown once, never stored
    id: str
    grant_id: str
    organization_id: str
    project_ids: tuple[str, ...]  # () = every project of the organization
    scopes: tuple[str, ...]
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class InstallationContext:
    token_id: str
    grant_id: str
    organization_id: str
    project_ids: tuple[str, ...]  # () = every project of the organization
    scopes: tuple[str, ...]
    client_id: str
    user_id: str
    expires_at: datetime
    grant_last_used_at: datetime | None
    # the grant's projects as they are now (None: all): narrowing the grant narrows its tokens
    grant_project_ids: tuple[str, ...] | None = None

    @property
    def limited(self) -> bool:
        """Whether the token or its grant covers only some projects."""
        return bool(self.project_ids) or self.grant_project_ids is not None

    def allows_project(self, project_id: str) -> bool:
        return (not self.project_ids or project_id in self.project_ids) and (
            self.grant_project_ids is None or project_id in self.grant_project_ids
        )


def looks_like_installation_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX) and len(token) <= _MAX_TOKEN_LENGTH


async def _narrowed_projects(
    conn: AsyncConnection,
    organization_id: str,
    wanted: Sequence[str] | None,
    granted: Sequence[str] | None,
) -> tuple[str, ...]:
    """The token's projects: those asked for, each a project of the organization (else 400)
    that the grant covers (else 403 ``wrong_project``); by default the grant's."""
    if not wanted:
        return tuple(granted or ())
    unique = list(dict.fromkeys(wanted))
    if len(unique) > _MAX_PROJECTS:
        raise InvalidRequest(f"at most {_MAX_PROJECTS} project_ids")
    found = await projects_of_organization(
        conn, organization_id=organization_id, project_ids=unique
    )
    for project_id in unique:
        if project_id not in found:
            raise InvalidRequest(
                f"project_ids: {project_id[:60]!r} is not a project of the grant's organization"
            )
        if granted is not None and project_id not in granted:
            raise WrongProject(f"project_ids: {project_id[:60]!r} is not covered by the grant.")
    return tuple(unique)


def _narrowed_scopes(allowed: tuple[str, ...], wanted: Sequence[str] | None) -> tuple[str, ...]:
    if wanted is None:
        return allowed
    if not wanted:
        raise InvalidRequest("scopes: give at least one scope, or leave scopes out")
    for scope in wanted:
        if scope not in allowed:
            raise InvalidRequest(f"scopes: {scope[:60]!r} is not granted to this token")
    return tuple(name for name in CATALOG if name in set(wanted))


async def mint(
    conn: AsyncConnection,
    *,
    claims: AccessTokenClaims,
    grant_id: str,
    project_ids: Sequence[str] | None,
    scopes: Sequence[str] | None,
    now: datetime,
    hasher: SecretHasher,
    mints_per_minute: int,
) -> MintedToken:
    """Mint a token for a grant the access token covers, narrowed as asked, and audit it.

    The token belongs to the access token's refresh chain: ending the chain revokes it.
    """
    if grant_id not in claims.grant_ids:
        raise GrantNotFound()
    row = await stored.lock_grant_for_mint(conn, grant_id=grant_id)
    if row is None or row.client_id != claims.client_id or row.user_id != claims.sub:
        raise GrantNotFound()
    if row.revoked_at is not None:
        raise GrantRevoked()
    chain_id = claims.chains.get(grant_id)
    # Asked after the grant's lock is held: on PostgreSQL it then sees a chain ended by the
    # transaction the lock waited for.
    if chain_id is not None and await stored.chain_ended(
        conn, grant_id=grant_id, chain_id=chain_id
    ):
        raise InvalidToken(ENDED_CHAIN)
    retry_after = await counters.hit(
        conn, f"mint:{grant_id}", limit=mints_per_minute, window=_MINT_WINDOW_SECONDS, now=now
    )
    if retry_after is not None:
        raise RateLimited(retry_after, "Too many installation tokens minted for this grant.")
    held = set(claims.scope)
    allowed = tuple(name for name in row.scope.split() if name in held)
    chosen_scopes = _narrowed_scopes(allowed, scopes)
    chosen_projects = await _narrowed_projects(
        conn, row.organization_id, project_ids, row.project_ids
    )
    token = new_secret(TOKEN_PREFIX)
    minted = MintedToken(
        token=token,
        id=new_id("iat"),
        grant_id=grant_id,
        organization_id=row.organization_id,
        project_ids=chosen_projects,
        scopes=chosen_scopes,
        expires_at=now + TOKEN_LIFETIME,
    )
    await stored.insert_installation_token(
        conn,
        token_id=minted.id,
        token_hash=hasher.hash(token),
        grant_id=grant_id,
        organization_id=minted.organization_id,
        chain_id=chain_id,
        project_ids=chosen_projects,
        scope=" ".join(chosen_scopes),
        now=now,
        expires_at=minted.expires_at,
    )
    await audit.record(
        conn,
        action="installation_token.minted",
        actor=claims.client_id,
        now=now,
        user_id=row.user_id,
        client_id=claims.client_id,
        organization_id=minted.organization_id,
        grant_id=grant_id,
        detail={
            "token_id": minted.id,
            "chain_id": chain_id,
            "project_ids": list(chosen_projects),
            "scope": " ".join(chosen_scopes),
        },
    )
    return minted


async def authenticate(
    conn: AsyncConnection, token: str, *, now: datetime, hasher: SecretHasher
) -> InstallationContext:
    """The live token's context; `InvalidToken` (401) or `GrantRevoked` (410) otherwise."""
    if not looks_like_installation_token(token):
        raise InvalidToken(log_detail="not an installation token")
    row = await stored.installation_token_with_grant(conn, token_hash=hasher.hash(token))
    if row is None:
        raise InvalidToken(log_detail="unknown installation token")
    if row.grant_revoked_at is not None:
        raise GrantRevoked()
    if row.revoked_at is not None:
        raise GrantRevoked("This installation token was revoked.")
    if row.expires_at <= now:
        raise InvalidToken("The installation token has expired; mint a new one.")
    return InstallationContext(
        token_id=row.id,
        grant_id=row.grant_id,
        organization_id=row.organization_id,
        project_ids=tuple(row.project_ids),
        scopes=tuple(row.scope.split()),
        client_id=row.client_id,
        user_id=row.user_id,
        expires_at=row.expires_at,
        grant_last_used_at=row.grant_last_used_at,
        grant_project_ids=(None if row.grant_project_ids is None else tuple(row.grant_project_ids)),
    )


async def touch_grant(conn: AsyncConnection, grant_id: str, now: datetime) -> None:
    """Record that the grant was used, at most once per `LAST_USED_RESOLUTION`."""
    await stored.touch_grant_if_stale(
        conn, grant_id=grant_id, stale_before=now - LAST_USED_RESOLUTION, now=now
    )


async def revoke_token(
    conn: AsyncConnection, token: str, *, client_id: str, now: datetime, hasher: SecretHasher
) -> bool:
    """Revoke one installation token of ``client_id`` (RFC 7009 §2.1); ``False`` if it is
    unknown, already revoked, or belongs to another client."""
    if not looks_like_installation_token(token):
        return False
    row = await client_token(conn, "installation", hasher.hash(token), client_id)
    if row is None:
        return False
    if not await stored.revoke_installation_token(conn, token_id=row.id, now=now):
        return False
    await audit.record(
        conn,
        action="installation_token.revoked",
        actor=client_id,
        now=now,
        user_id=row.user_id,
        client_id=client_id,
        organization_id=row.organization_id,
        grant_id=row.grant_id,
        detail={"token_id": row.id, "reason": "rfc7009"},
    )
    await events.emit_for_grant(
        conn,
        "installation_token.revoked",
        client_id=client_id,
        grant_id=row.grant_id,
        organization_id=row.organization_id,
        now=now,
        token_id=row.id,
    )
    return True
