"""The user's side of the device authorization grant (RFC 8628 §3.3): the code the user types
on the ``/device`` page names a pending request, which is then answered on the same consent
screen as the authorization code flow (`oauth.consent`).

The form carries the user code itself, never the request's id, so a tampered form can only
answer a request whose code its sender knows; every submission of a code is counted by the
page's guess limits. Answering is one conditional update: of several answers, one wins.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit, grants
from i18n_connect.grants import Projects
from i18n_connect.ids import SecretHasher
from i18n_connect.oauth.consent import (
    Completion,
    ConsentIncomplete,
    ConsentRefused,
    ConsentView,
    offer,
    organization_names,
    require_allowed,
)
from i18n_connect.oauth.device import format_user_code, normalize_user_code, user_code_hash
from i18n_connect.scopes import CATALOG, format_scope
from i18n_connect.storage import device_authorizations as stored
from i18n_connect.storage.device_authorizations import DeviceAuthorization

__all__ = ["UserCodeRefused", "approve_device", "deny_device", "device_view", "pending_by_code"]

_ALREADY_ANSWERED = "This code was already used. Start again on your device to get a new one."


class UserCodeRefused(ConsentIncomplete):
    """The typed code names no pending request: the code page again, with this hint."""


async def pending_by_code(
    conn: AsyncConnection, typed: str, *, hasher: SecretHasher, now: datetime
) -> tuple[str, DeviceAuthorization]:
    """The code as shown on the device (``XXXX-XXXX``) and its pending request."""
    normalized = normalize_user_code(typed)
    if normalized is None:
        raise UserCodeRefused(
            "That is not a code from this site: codes have eight letters, such as BCDF-GHJK."
        )
    found = await stored.by_user_code_hash(conn, user_code_hash(hasher, normalized))
    if found is None:
        raise UserCodeRefused(
            "No device is waiting with this code. Check the code on your device and type it again."
        )
    if found.expires_at <= now:
        raise UserCodeRefused(
            "This code has expired: codes last ten minutes. Start again on your device."
        )
    if found.status != "pending":
        raise UserCodeRefused(_ALREADY_ANSWERED)
    return format_user_code(normalized), found


async def device_view(
    conn: AsyncConnection, pending: DeviceAuthorization, user_id: str, now: datetime
) -> ConsentView[DeviceAuthorization]:
    return await offer(
        conn,
        pending,
        client_id=pending.client_id,
        scope=pending.scope,
        redirect_host="",
        resource=pending.resource,
        user_id=user_id,
        now=now,
    )


async def approve_device(
    conn: AsyncConnection,
    view: ConsentView[DeviceAuthorization],
    *,
    user_id: str,
    organization_ids: Sequence[str],
    scope: Sequence[str],
    now: datetime,
    projects: Mapping[str, Projects] | None = None,
) -> Completion:
    """Record the consent (grants on ``projects``' choice, each organization's policy read
    again under its lock, as `consent.approve`) and approve the request; what the complete
    page shows."""
    pending = view.request
    requests = await require_allowed(conn, view, organization_ids, user_id=user_id, now=now)
    consented = await grants.consent(
        conn,
        user_id=user_id,
        client_id=pending.client_id,
        organization_ids=organization_ids,
        scope=scope,
        now=now,
        projects=projects,
        requests=requests,
    )
    grant_ids = [grant.id for grant in consented]
    if not await stored.answer(
        conn,
        pending.id,
        status="approved",
        user_id=user_id,
        scope=scope,
        grant_ids=grant_ids,
        now=now,
    ):
        raise ConsentRefused(_ALREADY_ANSWERED)  # rolls the grants back too
    return Completion(
        client=view.client,
        continue_uri="",
        redirect_host="",
        organizations=await organization_names(conn, grant_ids),
        scopes=tuple(CATALOG[name] for name in scope if name in CATALOG),
    )


async def deny_device(
    conn: AsyncConnection, view: ConsentView[DeviceAuthorization], *, user_id: str, now: datetime
) -> None:
    """Record the refusal: the device's next poll answers ``access_denied``."""
    pending = view.request
    if not await stored.answer(
        conn,
        pending.id,
        status="denied",
        user_id=user_id,
        scope=pending.scope,
        grant_ids=(),
        now=now,
    ):
        raise ConsentRefused(_ALREADY_ANSWERED)
    await audit.record(
        conn,
        action="consent.denied",
        actor=user_id,
        now=now,
        user_id=user_id,
        client_id=pending.client_id,
        detail={"scope": format_scope(pending.scope), "device_authorization_id": pending.id},
    )
