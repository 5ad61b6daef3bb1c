"""The consent step of the authorization code flow (RFC 6749 §4.1.1-§4.1.2, RFC 9207; SPEC §3
"Consent screen").

A pending request belongs to the browser session that started it. The user's
answer carries nothing but choices — organizations and scopes — which must be a
subset of what the user administers and of what the client requested;
everything else (client, redirect URI, PKCE challenge, state, resource) comes
from the stored request. Completing a request is a conditional update, so a
replayed submission does nothing. After approval the "Continue to your app"
URL, which holds the code, is kept encrypted on the request and shown only to
its session.
"""

from __future__ import annotations

import base64
import hmac
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar
from urllib.parse import urlsplit

from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit, grants
from i18n_connect.developer.publisher import Publisher, publisher_of
from i18n_connect.grants import Grant, Projects
from i18n_connect.ids import SecretHasher
from i18n_connect.oauth.authorize import REQUEST_LIFETIME, redirect_with
from i18n_connect.oauth.clients import Client, get_client
from i18n_connect.oauth.codes import issue_code
from i18n_connect.platform import connection_requests, policies
from i18n_connect.platform.organizations import (
    ADMIN_ROLES,
    Organization,
    get_organization,
    list_memberships,
)
from i18n_connect.platform.projects import Project, list_projects
from i18n_connect.resources import organization_of_resource
from i18n_connect.scopes import CATALOG, Scope, format_scope
from i18n_connect.settings import Settings
from i18n_connect.storage import authorization_requests
from i18n_connect.storage.authorization_requests import StoredRequest

__all__ = [
    "Completion",
    "ConsentAnswered",
    "ConsentIncomplete",
    "ConsentRefused",
    "ConsentView",
    "PendingRequest",
    "approve",
    "check_choices",
    "completion_cipher",
    "consent_view",
    "deny",
    "load_completion",
    "load_pending",
    "offer",
    "organization_names",
    "preselected",
    "require_allowed",
]


_ALREADY_ANSWERED = "You already answered this connection request."
_APP_GONE = "The app that asked to connect is no longer registered on this site."


class ConsentRefused(Exception):
    """The request or the submitted answer is not acceptable: an error page, nothing created."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


class ConsentAnswered(ConsentRefused):
    """The request was already answered; ``approved`` when its outcome page is there to show."""

    def __init__(self, *, approved: bool) -> None:
        self.approved = approved
        super().__init__(_ALREADY_ANSWERED)


class ConsentIncomplete(Exception):
    """The user has to choose more before authorizing: the consent page again, with this hint."""

    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


PendingRequest = StoredRequest  # a request kept by authorize, RFC 6749 §4.1.1
R = TypeVar("R")  # what is answered: a `PendingRequest`, or a device authorization (RFC 8628)


@dataclass(frozen=True, slots=True)
class ConsentView(Generic[R]):
    """What the consent page shows."""

    request: R
    client: Client
    redirect_host: str  # empty for a device authorization: nothing is redirected
    organizations: tuple[Organization, ...]  # those the user may connect this app to
    roles: dict[str, str]  # organization id → the user's role there
    scopes: tuple[Scope, ...]
    existing_grants: tuple[Grant, ...]
    connected: frozenset[str]  # offered organizations the client holds a live grant for
    # the user's other organizations, shown disabled with the reason their policy gives
    unavailable: tuple[tuple[Organization, str], ...] = ()
    projects: dict[str, tuple[Project, ...]] = field(default_factory=dict)  # of offered orgs
    # unavailable organizations whose owners the user may ask (only the role stands in the way)
    requestable: frozenset[str] = frozenset()
    asked: dict[str, datetime] = field(default_factory=dict)  # org id → when a pending ask was made
    approved: frozenset[str] = frozenset()  # offered only thanks to an approved request
    publisher: Publisher | None = None  # a console app's publishing organization, logo, domain
    only_organization: str | None = None  # the slug a per-organization resource limits it to

    @property
    def administers_any(self) -> bool:
        return any(role in ADMIN_ROLES for role in self.roles.values())

    def organization_name(self, organization_id: str) -> str:
        names = {org.id: org.name for org in self.organizations}
        return names.get(organization_id, organization_id)


@dataclass(frozen=True, slots=True)
class Completion:
    """The outcome of an approved request, for the "Connection complete" page."""

    client: Client
    continue_uri: str  # empty for a device authorization: the device polls for its tokens
    redirect_host: str
    organizations: tuple[str, ...]  # names of the connected organizations
    scopes: tuple[Scope, ...]


def completion_cipher(settings: Settings) -> Fernet:
    """The key that encrypts "Continue to your app" URLs at rest."""
    return Fernet(base64.urlsafe_b64encode(settings.derived_key("authorization-completion")))


def redirect_host(redirect_uri: str) -> str:
    """The part of a redirect URI a person recognises: host and port, or the app's scheme."""
    parts = urlsplit(redirect_uri)
    return parts.netloc.rpartition("@")[2] or f"{parts.scheme}:"


async def _find(
    conn: AsyncConnection, request_id: str | None, session_hash: str, now: datetime
) -> PendingRequest:
    if not request_id or len(request_id) > 64:
        raise ConsentRefused(
            "This link to connect an app is incomplete or damaged. "
            "Go back to the app and connect again."
        )
    row = await authorization_requests.get_request(conn, request_id=request_id)
    if row is None or not hmac.compare_digest(row.session_hash, session_hash):
        raise ConsentRefused(
            "We cannot find this connection request: it was started in another browser session, "
            "or it no longer exists. Go back to the app and connect again."
        )
    if row.expires_at <= now:
        raise ConsentRefused(
            "This connection request has expired: you have ten minutes to answer one. "
            "Go back to the app and connect again."
        )
    return row


async def load_pending(
    conn: AsyncConnection, request_id: str | None, *, session_hash: str, now: datetime
) -> PendingRequest:
    """The session's unexpired, unanswered request; `ConsentRefused` otherwise."""
    pending = await _find(conn, request_id, session_hash, now)
    if pending.completed_at is not None:
        raise ConsentAnswered(approved=pending.completion is not None)
    return pending


async def consent_view(
    conn: AsyncConnection, pending: PendingRequest, user_id: str, now: datetime
) -> ConsentView[PendingRequest]:
    return await offer(
        conn,
        pending,
        client_id=pending.client_id,
        scope=pending.scope,
        redirect_host=redirect_host(pending.redirect_uri),
        resource=pending.resource,
        user_id=user_id,
        now=now,
    )


async def offer(
    conn: AsyncConnection,
    request: R,
    *,
    client_id: str,
    scope: Sequence[str],
    redirect_host: str,
    resource: str | None,
    user_id: str,
    now: datetime,
) -> ConsentView[R]:
    """What the user may choose from to answer ``request`` of ``client_id``: the organizations
    of the user whose app policy lets them connect it — only the one of a per-organization MCP
    ``resource`` (`i18n_connect.resources`) — with their projects, the others with the reason,
    and the requested scopes."""
    client = await get_client(conn, client_id)
    if client is None:
        raise ConsentRefused(_APP_GONE)
    only = organization_of_resource(resource)
    administered = []
    unavailable = []
    requestable, approved = set(), set()
    asks = await connection_requests.live_requests(
        conn, now=now, user_id=user_id, client_id=client.id
    )
    asked = {ask.organization_id: ask.created_at for ask in asks if ask.status == "pending"}
    waived = {ask.organization_id for ask in asks if ask.status == "approved"}
    memberships = [
        (org, role)
        for org, role in await list_memberships(conn, user_id)
        if only in (None, org.slug)
    ]
    for org, role in memberships:
        policy = await policies.get_policy(conn, org.id)
        role_waived = org.id in waived and not policy.may_connect(role)
        reason = policy.refusal(org.name, client, role, role_waived=role_waived)
        if reason is None:
            administered.append((org, role))
            if role_waived:
                approved.add(org.id)
            continue
        unavailable.append((org, reason))
        if policy.refusal(org.name, client, role, role_waived=True) is None:
            requestable.add(org.id)
    connected = set()
    for org, _ in administered:
        if await grants.list_grants(conn, organization_id=org.id, client_id=client.id):
            connected.add(org.id)
    return ConsentView(
        request=request,
        client=client,
        redirect_host=redirect_host,
        organizations=tuple(org for org, _ in administered),
        roles={org.id: role for org, role in memberships},
        scopes=tuple(CATALOG[name] for name in scope if name in CATALOG),
        existing_grants=tuple(
            grant
            for grant in await grants.list_grants(conn, user_id=user_id, client_id=client.id)
            if only is None or grant.organization_id in connected
        ),
        connected=frozenset(connected),
        unavailable=tuple(unavailable),
        requestable=frozenset(requestable),
        asked=asked,
        approved=frozenset(approved),
        projects={org.id: tuple(await list_projects(conn, org.id)) for org, _ in administered},
        publisher=await publisher_of(conn, client),
        only_organization=only,
    )


def preselected(view: ConsentView[Any], organization_hint: str | None) -> tuple[str, ...]:
    """The organizations ticked when the page opens: the one the app hinted at (by id or slug)
    if the user may connect it, else the only one offered, else none."""
    hinted = [org.id for org in view.organizations if organization_hint in (org.id, org.slug)]
    if hinted:
        return tuple(hinted[:1])
    return tuple(org.id for org in view.organizations) if len(view.organizations) == 1 else ()


def check_choices(
    view: ConsentView[Any], organization_ids: Sequence[str], scope_names: Sequence[str]
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The chosen organizations and scopes, deduplicated in page order.

    Anything the page did not offer is tampering (`ConsentRefused`); choosing
    no organization or no scope asks the user again (`ConsentIncomplete`).
    """
    offered_orgs = [org.id for org in view.organizations]
    offered_scopes = [scope.name for scope in view.scopes]
    for org, reason in view.unavailable:
        if org.id in organization_ids and view.roles[org.id] in ADMIN_ROLES:
            raise ConsentRefused(reason)
    foreign_orgs = set(organization_ids) - set(offered_orgs)
    if foreign_orgs:
        raise ConsentRefused("You can only connect organizations that you own or administer.")
    foreign_scopes = set(scope_names) - set(offered_scopes)
    if foreign_scopes:
        raise ConsentRefused("You can only give the permissions that the app asked for.")
    if not offered_orgs and not view.administers_any and view.only_organization is not None:
        raise ConsentIncomplete(
            f"This connection is for the organization {view.only_organization} only, and you "
            "are not an owner or admin of it, so you cannot connect this app to it."
        )
    if not offered_orgs and not view.administers_any:
        raise ConsentIncomplete(
            "You are not an owner or admin of any organization, so you cannot connect this app."
        )
    if not offered_orgs:
        raise ConsentIncomplete(
            "None of your organizations lets you connect this app: the reason is next to each."
        )
    if not organization_ids:
        raise ConsentIncomplete("Choose at least one organization.")
    if not scope_names:
        raise ConsentIncomplete("Choose at least one permission.")
    chosen_orgs = set(organization_ids)
    chosen_scopes = set(scope_names)
    return (
        tuple(org for org in offered_orgs if org in chosen_orgs),
        tuple(name for name in offered_scopes if name in chosen_scopes),
    )


async def require_allowed(
    conn: AsyncConnection,
    view: ConsentView[Any],
    organization_ids: Sequence[str],
    *,
    user_id: str,
    now: datetime,
) -> dict[str, str | None]:
    """Each chosen organization's policy read again under its row lock
    (`policies.require_allowed`): `ConsentRefused` if one changed since the page was shown,
    else organization id → the approved connection request the grant consumes."""
    requests = {}
    for organization_id in organization_ids:
        try:
            requests[organization_id] = await policies.require_allowed(
                conn,
                organization_id=organization_id,
                organization_name=view.organization_name(organization_id),
                client=view.client,
                user_id=user_id,
                now=now,
            )
        except policies.PolicyRefusal as exc:
            raise ConsentRefused(exc.message) from exc
    return requests


async def _complete(
    conn: AsyncConnection, pending: PendingRequest, now: datetime, completion: str | None
) -> None:
    """Mark the request answered; exactly one of several concurrent answers gets through."""
    if not await authorization_requests.complete_request(
        conn,
        request_id=pending.id,
        now=now,
        completion=completion,
        expires_at=now + REQUEST_LIFETIME,
    ):
        raise ConsentRefused(_ALREADY_ANSWERED)


async def approve(
    conn: AsyncConnection,
    view: ConsentView[PendingRequest],
    *,
    user_id: str,
    organization_ids: Sequence[str],
    scope: Sequence[str],
    now: datetime,
    settings: Settings,
    hasher: SecretHasher,
    projects: Mapping[str, Projects] | None = None,
) -> list[Grant]:
    """Record the consent: grants (each on ``projects``' choice for its organization, all
    projects by default), a code, and the encrypted continue URL on the request.

    Each organization's policy is read again under its row lock, so a policy changed since
    the page was shown refuses the consent (`ConsentRefused`) before anything is written."""
    pending = view.request
    requests = await require_allowed(conn, view, organization_ids, user_id=user_id, now=now)
    await _complete(conn, pending, now, None)
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
    code = await issue_code(
        conn,
        client_id=pending.client_id,
        user_id=user_id,
        redirect_uri=pending.redirect_uri,
        code_challenge=pending.code_challenge,
        scope=format_scope(scope),
        resource=pending.resource,
        grant_ids=[grant.id for grant in consented],
        now=now,
        hasher=hasher,
    )
    continue_uri = redirect_with(
        pending.redirect_uri, {"code": code, "state": pending.state, "iss": settings.issuer}
    )
    payload = json.dumps(
        {"uri": continue_uri, "grant_ids": [g.id for g in consented], "scope": list(scope)}
    )
    sealed = completion_cipher(settings).encrypt(payload.encode()).decode()
    await authorization_requests.set_completion(conn, request_id=pending.id, completion=sealed)
    return consented


async def deny(
    conn: AsyncConnection,
    view: ConsentView[PendingRequest],
    *,
    user_id: str,
    now: datetime,
    issuer: str,
) -> str:
    """Record the refusal; the client's redirect URI with ``error=access_denied``."""
    pending = view.request
    await _complete(conn, pending, now, None)
    await audit.record(
        conn,
        action="consent.denied",
        actor=user_id,
        now=now,
        user_id=user_id,
        client_id=pending.client_id,
        detail={"scope": format_scope(pending.scope)},
    )
    return redirect_with(
        pending.redirect_uri,
        {
            "error": "access_denied",
            "error_description": "The user denied the request.",
            "state": pending.state,
            "iss": issuer,
        },
    )


async def load_completion(
    conn: AsyncConnection,
    request_id: str | None,
    *,
    session_hash: str,
    now: datetime,
    settings: Settings,
) -> Completion:
    """The approved request's outcome, for its own session until it expires."""
    pending = await _find(conn, request_id, session_hash, now)
    if pending.completion is None:
        raise ConsentRefused(
            "This connection request was not approved, so there is nothing to continue to. "
            "Go back to the app and connect again."
        )
    try:
        sealed = completion_cipher(settings).decrypt(pending.completion.encode())
    except InvalidToken as exc:
        raise ConsentRefused(
            "This connection can no longer be finished here. Go back to the app and connect again."
        ) from exc
    payload = json.loads(sealed)
    client = await get_client(conn, pending.client_id)
    if client is None:
        raise ConsentRefused(_APP_GONE)
    return Completion(
        client=client,
        continue_uri=payload["uri"],
        redirect_host=redirect_host(pending.redirect_uri),
        organizations=await organization_names(conn, payload["grant_ids"]),
        scopes=tuple(CATALOG[name] for name in payload["scope"] if name in CATALOG),
    )


async def organization_names(conn: AsyncConnection, grant_ids: Sequence[str]) -> tuple[str, ...]:
    """The names of the organizations the grants are for, for the "Connection complete" page."""
    names = []
    for grant_id in grant_ids:
        grant = await grants.get_grant(conn, grant_id)
        organization = grant and await get_organization(conn, grant.organization_id)
        if organization:
            names.append(organization.name)
    return tuple(names)
