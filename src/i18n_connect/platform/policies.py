"""An organization's policy for third-party apps (SPEC §6 "Organization policy").

Owners decide who may connect apps (owners and admins, the default, or owners
only) and which apps (any, the default; only apps of a verified publisher; or
only those on the approved list), plus a block list that always wins. The
consent screen asks `Policy.refusal` for each organization, and asks again
under the organization's row lock when it writes the grant (`require_allowed`),
so a consent racing a policy change either lands before it — and is revoked by
it — or is refused.

A change that leaves an app no longer allowed revokes that app's live grants in
the organization through the one grant cascade (`grants.revoke_grant`), with
the reason ``organization_policy``; the owner first sees how many
(`grants_affected`). Every change is audited.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit, grants
from i18n_connect.errors import InvalidRequest, NotFound
from i18n_connect.oauth.clients import Client, get_client
from i18n_connect.storage import connection_requests as request_store
from i18n_connect.storage import organizations as organization_store
from i18n_connect.storage import policies as stored

__all__ = [
    "ALLOWED_APPS",
    "CONNECT_ROLES",
    "DEFAULT_CONNECT_ROLES",
    "LISTS",
    "REVOCATION_REASON",
    "Policy",
    "PolicyRefusal",
    "approved_request",
    "change_list",
    "change_policy",
    "get_policy",
    "grants_affected",
    "listed_apps",
    "proposed_list_change",
    "proposed_policy",
    "require_allowed",
    "revoke_app",
]

CONNECT_ROLES = {"owners_admins": ("owner", "admin"), "owners": ("owner",)}
DEFAULT_CONNECT_ROLES = "owners_admins"  # an organization without a policy row
ALLOWED_APPS = ("any", "verified", "approved")
LISTS = ("approved", "blocked")
REVOCATION_REASON = "organization_policy"  # grant.revoked's reason when a policy change revokes


class PolicyRefusal(Exception):
    """The organization's policy does not let this user connect this app."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass(frozen=True, slots=True)
class Policy:
    """The organization's rules; an organization that never set any has the defaults."""

    connect_roles: str = "owners_admins"
    allowed_apps: str = "any"
    approved: frozenset[str] = field(default_factory=frozenset)
    blocked: frozenset[str] = field(default_factory=frozenset)

    def admits(self, client: Client) -> bool:
        """Whether the app may hold grants in the organization, whoever connects it."""
        if client.id in self.blocked:
            return False
        if self.allowed_apps == "verified":
            return client.verified
        if self.allowed_apps == "approved":
            return client.id in self.approved
        return True

    def may_connect(self, role: str) -> bool:
        """Whether ``role`` may connect apps at all (an approved request waives it for one app)."""
        return role in CONNECT_ROLES[self.connect_roles]

    def refusal(
        self, organization_name: str, client: Client, role: str, *, role_waived: bool = False
    ) -> str | None:
        """Why a user with ``role`` may not connect ``client`` to the organization, or ``None``;
        ``role_waived`` when an approved request lets this user connect this app."""
        if not role_waived and not self.may_connect(role):
            who = "owners" if self.connect_roles == "owners" else "owners and admins"
            return f"Only {who} of {organization_name} can connect apps to it."
        if client.id in self.blocked:
            return f"{organization_name} has blocked this app."
        if not self.admits(client):
            if self.allowed_apps == "verified":
                return f"{organization_name} allows only apps from verified publishers."
            return f"{organization_name} allows only apps its owners approved."
        return None


def _check(connect_roles: str, allowed_apps: str) -> None:
    if connect_roles not in CONNECT_ROLES:
        raise InvalidRequest(f"connect_roles must be one of {', '.join(CONNECT_ROLES)}")
    if allowed_apps not in ALLOWED_APPS:
        raise InvalidRequest(f"allowed_apps must be one of {', '.join(ALLOWED_APPS)}")


async def listed_apps(conn: AsyncConnection, organization_id: str) -> list[stored.ListedApp]:
    """The organization's approved and blocked apps, oldest first."""
    return await stored.listed_apps(conn, organization_id=organization_id)


async def get_policy(conn: AsyncConnection, organization_id: str) -> Policy:
    row = await stored.get_policy(conn, organization_id=organization_id)
    listed = await stored.listed_apps(conn, organization_id=organization_id)
    return Policy(
        connect_roles=row.connect_roles if row else DEFAULT_CONNECT_ROLES,
        allowed_apps=row.allowed_apps if row else "any",
        approved=frozenset(app.client_id for app in listed if app.list == "approved"),
        blocked=frozenset(app.client_id for app in listed if app.list == "blocked"),
    )


def proposed_policy(policy: Policy, connect_roles: str, allowed_apps: str) -> Policy:
    """``policy`` with new settings; `InvalidRequest` for an unknown value."""
    _check(connect_roles, allowed_apps)
    return Policy(connect_roles, allowed_apps, policy.approved, policy.blocked)


def proposed_list_change(policy: Policy, list_name: str, client_id: str, listed: bool) -> Policy:
    """``policy`` with ``client_id`` put on (or taken off) a list."""
    if list_name not in LISTS:
        raise InvalidRequest(f"list must be one of {', '.join(LISTS)}")
    current = policy.approved if list_name == "approved" else policy.blocked
    changed = current | {client_id} if listed else current - {client_id}
    if list_name == "approved":
        return Policy(policy.connect_roles, policy.allowed_apps, changed, policy.blocked)
    return Policy(policy.connect_roles, policy.allowed_apps, policy.approved, changed)


async def grants_affected(
    conn: AsyncConnection, organization_id: str, policy: Policy
) -> list[grants.Grant]:
    """The organization's live grants of apps ``policy`` no longer admits."""
    admitted: dict[str, bool] = {}
    affected = []
    for grant in await grants.list_grants(conn, organization_id=organization_id):
        if grant.client_id not in admitted:
            client = await get_client(conn, grant.client_id)
            admitted[grant.client_id] = client is None or policy.admits(client)
        if not admitted[grant.client_id]:
            affected.append(grant)
    return affected


async def _lock(conn: AsyncConnection, organization_id: str) -> None:
    if not await organization_store.lock_organization(conn, organization_id=organization_id):
        raise NotFound("no such organization")


async def _revoke_affected(
    conn: AsyncConnection, organization_id: str, policy: Policy, *, actor: str, now: datetime
) -> int:
    affected = await grants_affected(conn, organization_id, policy)
    return await grants.revoke_grants(
        conn, affected, actor=actor, now=now, reason=REVOCATION_REASON
    )


async def change_policy(
    conn: AsyncConnection,
    *,
    organization_id: str,
    connect_roles: str,
    allowed_apps: str,
    actor: str,
    now: datetime,
) -> int:
    """Save new settings, audited as ``policy.changed``; the number of grants it revoked."""
    await _lock(conn, organization_id)
    before = await get_policy(conn, organization_id)
    after = proposed_policy(before, connect_roles, allowed_apps)
    if (before.connect_roles, before.allowed_apps) == (connect_roles, allowed_apps):
        return 0
    await stored.save_policy(
        conn,
        organization_id=organization_id,
        connect_roles=connect_roles,
        allowed_apps=allowed_apps,
        now=now,
        actor=actor,
    )
    revoked = await _revoke_affected(conn, organization_id, after, actor=actor, now=now)
    await audit.record(
        conn,
        action="policy.changed",
        actor=actor,
        now=now,
        organization_id=organization_id,
        detail={
            "from": {"connect_roles": before.connect_roles, "allowed_apps": before.allowed_apps},
            "to": {"connect_roles": connect_roles, "allowed_apps": allowed_apps},
            "grants_revoked": revoked,
        },
    )
    return revoked


async def change_list(
    conn: AsyncConnection,
    *,
    organization_id: str,
    list_name: str,
    client_id: str,
    listed: bool,
    actor: str,
    now: datetime,
) -> int:
    """Put an app on the approved or blocked list (or take it off), audited as
    ``policy.app_approved``/``…_unapproved``/``…_blocked``/``…_unblocked``; the number of
    grants it revoked. Only a registered app can be put on a list."""
    await _lock(conn, organization_id)
    after = proposed_list_change(
        await get_policy(conn, organization_id), list_name, client_id, listed
    )
    if listed:
        if await get_client(conn, client_id) is None:
            raise NotFound("no such app")
        changed = await stored.add_to_list(
            conn,
            organization_id=organization_id,
            list_name=list_name,
            client_id=client_id,
            now=now,
            actor=actor,
        )
    else:
        changed = await stored.remove_from_list(
            conn, organization_id=organization_id, list_name=list_name, client_id=client_id
        )
    if not changed:
        return 0
    revoked = await _revoke_affected(conn, organization_id, after, actor=actor, now=now)
    await audit.record(
        conn,
        action=f"policy.app_{'' if listed else 'un'}{list_name}",
        actor=actor,
        now=now,
        client_id=client_id,
        organization_id=organization_id,
        detail={"grants_revoked": revoked},
    )
    return revoked


async def revoke_app(
    conn: AsyncConnection, *, organization_id: str, client_id: str, actor: str, now: datetime
) -> int:
    """Revoke every live grant of one app in the organization (an owner's one-click
    revocation, reason ``organization_admin``), audited as ``policy.app_revoked``; how many."""
    await _lock(conn, organization_id)
    found = await grants.list_grants(conn, organization_id=organization_id, client_id=client_id)
    revoked = await grants.revoke_grants(
        conn, found, actor=actor, now=now, reason="organization_admin"
    )
    await audit.record(
        conn,
        action="policy.app_revoked",
        actor=actor,
        now=now,
        client_id=client_id,
        organization_id=organization_id,
        detail={"grants_revoked": revoked},
    )
    return revoked


async def require_allowed(
    conn: AsyncConnection,
    *,
    organization_id: str,
    organization_name: str,
    client: Client,
    user_id: str,
    now: datetime,
) -> str | None:
    """`PolicyRefusal` unless the policy and the user's role, both read under the
    organization's row lock, let the user connect ``client`` now. A user whose role may not
    connect apps may still connect this one with an approved request, which this consumes
    and returns the id of (the grant records it)."""
    await _lock(conn, organization_id)
    role = await organization_store.membership_role(
        conn, organization_id=organization_id, user_id=user_id
    )
    policy = await get_policy(conn, organization_id)
    waiver = None
    if role is not None and not policy.may_connect(role):
        waiver = await approved_request(conn, organization_id, client.id, user_id, now)
    reason = policy.refusal(organization_name, client, role or "", role_waived=waiver is not None)
    if reason is not None:
        raise PolicyRefusal(reason)
    if waiver is not None and not await request_store.mark_used(
        conn, request_id=waiver.id, now=now
    ):
        raise PolicyRefusal("Your approved request was used or expired meanwhile.")
    return waiver.id if waiver is not None else None


async def approved_request(
    conn: AsyncConnection, organization_id: str, client_id: str, user_id: str, now: datetime
) -> request_store.ConnectionRequest | None:
    """The user's approved, unused, unexpired request to connect the app, if any."""
    found = await request_store.live_requests(
        conn,
        now=now,
        organization_id=organization_id,
        user_id=user_id,
        client_id=client_id,
        statuses=("approved",),
    )
    return found[0] if found else None
