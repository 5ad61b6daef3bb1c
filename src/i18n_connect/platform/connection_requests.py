"""Members ask to connect an app (SPEC §6 "Requests").

A member — or an admin under an "owners only" policy — whose role alone keeps
them from connecting an app to an organization may ask its owners, with an
optional note. Those who may connect apps there approve or decline it; an
approved request lets the requester connect that one app to that organization
once (`policies.require_allowed` consumes it). A request lives 14 days, pending
or approved. Every step is audited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit
from i18n_connect.errors import AccessDenied, ConflictError, InvalidRequest, NotFound
from i18n_connect.ids import new_id
from i18n_connect.oauth.clients import Client
from i18n_connect.platform import policies
from i18n_connect.storage import connection_requests as stored
from i18n_connect.storage.connection_requests import ConnectionRequest, WaitingCount

__all__ = [
    "LIFETIME",
    "MAX_NOTE_LENGTH",
    "ConnectionRequest",
    "Waiting",
    "ask",
    "decide",
    "live_requests",
    "waiting_for",
]

LIFETIME = timedelta(days=14)
MAX_NOTE_LENGTH = 500


async def live_requests(
    conn: AsyncConnection,
    *,
    now: datetime,
    organization_id: str | None = None,
    user_id: str | None = None,
    client_id: str | None = None,
    statuses: tuple[str, ...] = ("pending", "approved"),
) -> list[ConnectionRequest]:
    """Unexpired requests matching every given filter, oldest first."""
    return await stored.live_requests(
        conn,
        now=now,
        organization_id=organization_id,
        user_id=user_id,
        client_id=client_id,
        statuses=statuses,
    )


# Where the site header's notices point: the one organization's App policy page, where its
# requests are listed and decided, or — for several — Connected apps, which links each one's
# page with its count; the requester's own approved requests are told there too.
CONNECTED_APPS = "/settings/connected-apps"


@dataclass(frozen=True, slots=True)
class Waiting:
    """What waits for a signed-in user, as the site header shows it: requests the user may
    decide (``to_decide``) and the user's own approved requests (``approved``), per
    organization."""

    to_decide: tuple[WaitingCount, ...] = ()
    approved: tuple[WaitingCount, ...] = ()

    @property
    def to_decide_count(self) -> int:
        return sum(waiting.count for waiting in self.to_decide)

    @property
    def approved_count(self) -> int:
        return sum(waiting.count for waiting in self.approved)

    @property
    def decide_url(self) -> str:
        if len(self.to_decide) == 1:
            slug = quote(self.to_decide[0].organization_slug, safe="")
            return f"/orgs/{slug}/app-policy#requests-title"
        return CONNECTED_APPS

    @property
    def approved_url(self) -> str:
        return f"{CONNECTED_APPS}#asks"


async def waiting_for(conn: AsyncConnection, *, user_id: str, now: datetime) -> Waiting:
    """The user's `Waiting`, in one read: pending requests of the organizations where the
    user's role may decide them under that organization's policy (owners and admins, or only
    owners under "owners only"), and the user's approved requests not yet used. Expired ones
    count for nobody."""
    found = await stored.waiting_counts(
        conn,
        user_id=user_id,
        now=now,
        deciding_roles=policies.CONNECT_ROLES,
        default_connect_roles=policies.DEFAULT_CONNECT_ROLES,
    )
    return Waiting(
        to_decide=tuple(w for w in found if w.kind == "to_decide"),
        approved=tuple(w for w in found if w.kind == "approved"),
    )


async def ask(
    conn: AsyncConnection,
    *,
    organization_id: str,
    client: Client,
    user_id: str,
    role: str,
    note: str,
    now: datetime,
) -> ConnectionRequest:
    """Record a pending request; refused unless only the user's role stands in the way."""
    note = note.strip()
    if len(note) > MAX_NOTE_LENGTH:
        raise InvalidRequest(f"The note can be at most {MAX_NOTE_LENGTH} characters long.")
    policy = await policies.get_policy(conn, organization_id)
    if policy.may_connect(role) or policy.refusal("", client, role, role_waived=True):
        raise InvalidRequest("There is nothing to ask: the organization's policy decides this.")
    if await live_requests(
        conn, now=now, organization_id=organization_id, user_id=user_id, client_id=client.id
    ):
        raise ConflictError("You already asked to connect this app to this organization.")
    request = ConnectionRequest(
        id=new_id("car"),
        organization_id=organization_id,
        client_id=client.id,
        user_id=user_id,
        note=note,
        status="pending",
        created_at=now,
        expires_at=now + LIFETIME,
        decided_at=None,
        decided_by=None,
    )
    await stored.insert_request(conn, request)
    await audit.record(
        conn,
        action="connection_request.created",
        actor=user_id,
        now=now,
        user_id=user_id,
        client_id=client.id,
        organization_id=organization_id,
        detail={"request_id": request.id, "note": note},
    )
    return request


async def decide(
    conn: AsyncConnection,
    *,
    organization_id: str,
    request_id: str,
    approve: bool,
    actor: str,
    actor_role: str,
    now: datetime,
) -> ConnectionRequest:
    """Approve or decline a pending request of the organization; only someone who may connect
    apps there decides (`AccessDenied` otherwise). An approval lasts `LIFETIME` from now."""
    request = await stored.get_request(conn, request_id=request_id)
    if request is None or request.organization_id != organization_id:
        raise NotFound("No such request.")
    if not (await policies.get_policy(conn, organization_id)).may_connect(actor_role):
        raise AccessDenied("Only those who may connect apps here can decide requests.")
    status = "approved" if approve else "declined"
    if not await stored.decide(
        conn,
        request_id=request_id,
        status=status,
        actor=actor,
        now=now,
        expires_at=now + LIFETIME if approve else request.expires_at,
    ):
        raise ConflictError("This request was already decided, or it expired.")
    await audit.record(
        conn,
        action=f"connection_request.{status}",
        actor=actor,
        now=now,
        user_id=request.user_id,
        client_id=request.client_id,
        organization_id=organization_id,
        detail={"request_id": request_id},
    )
    decided = await stored.get_request(conn, request_id=request_id)
    assert decided is not None
    return decided
