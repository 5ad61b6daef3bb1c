"""Apps in the developer console: created by an owner or admin of an organization, which
publishes them; managed by every owner and admin of that organization (issue #14).

An app is an OAuth client (`oauth.clients`, origin ``console``, unverified until an operator
runs ``i18n-connect clients verify``) plus a profile (`storage.client_profiles`): the publishing
organization, a description, privacy-policy and terms URLs, and a logo stored here. Its
redirect URIs and scopes follow registration's policy (`oauth.clients.checked_metadata`); its
secret rotation and deletion are `oauth.client_lifecycle`'s, so the console, the command line
and RFC 7592 change a client the same way and write the same audit events.

Who may see an app: an owner or admin of its organization (`managed_app`); a member of it is
refused (`NotAppAdmin`: the page says why); anyone else learns nothing (`AppNotFound`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit, grants
from i18n_connect.developer.https_urls import https_url
from i18n_connect.errors import ProtocolError
from i18n_connect.ids import SecretHasher
from i18n_connect.oauth import client_lifecycle
from i18n_connect.oauth.clients import (
    Client,
    create_client,
    get_client,
    refuse_disguising_characters,
    validate_client_name,
    validate_redirect_uri,
)
from i18n_connect.platform.organizations import (
    ADMIN_ROLES,
    Organization,
    get_organization,
    list_memberships,
    membership_role,
)
from i18n_connect.scopes import CATALOG, format_scope
from i18n_connect.storage import client_profiles as storage
from i18n_connect.storage.client_profiles import Logo, Profile

__all__ = [
    "MAX_GRACE_HOURS",
    "ORIGIN",
    "AppForm",
    "AppNotFound",
    "CheckedApp",
    "Installation",
    "LogoChange",
    "ManagedApp",
    "NotAppAdmin",
    "check_form",
    "create_app",
    "delete_app",
    "installations",
    "managed_app",
    "my_apps",
    "organization_for_new_app",
    "parse_grace",
    "publishing_organizations",
    "rotate_secret",
    "update_app",
]

ORIGIN = "console"
_MAX_DESCRIPTION = 500
_LINE_BREAKS = frozenset({"\n", "\r", "\t"})
MAX_GRACE_HOURS = int(client_lifecycle.MAX_GRACE.total_seconds()) // 3600
T = TypeVar("T")


class AppNotFound(Exception):
    """No app by that id that this user may know of."""


class NotAppAdmin(Exception):
    """The user is not an owner or admin of the organization (``None``: one the user is not
    in, when creating an app) and so may not manage its apps."""

    def __init__(self, organization: Organization | None, role: str | None) -> None:
        super().__init__(organization.id if organization else "")
        self.organization = organization
        self.role = role


@dataclass(frozen=True, slots=True)
class AppForm:
    """The console form's fields as submitted (text; the scopes as a list)."""

    name: str = ""
    description: str = ""
    client_uri: str = ""
    policy_uri: str = ""
    tos_uri: str = ""
    redirect_uris: str = ""  # one per line
    kind: str = ""  # public | confidential
    scopes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class CheckedApp:
    name: str
    description: str
    client_uri: str
    policy_uri: str | None
    tos_uri: str | None
    redirect_uris: tuple[str, ...]
    confidential: bool
    scope: str


@dataclass(frozen=True, slots=True)
class LogoChange:
    """What an edit does to the logo: replace it (``logo``), remove it, or keep it (neither)."""

    logo: Logo | None = None
    remove: bool = False


@dataclass(frozen=True, slots=True)
class ManagedApp:
    client: Client
    profile: Profile
    organization: Organization
    logo_digest: str | None = None  # the stored logo's version; None: no logo
    logo_source: str | None = None  # the https URL it was fetched from; None: uploaded


@dataclass(frozen=True, slots=True)
class Installation:
    """The grants one organization holds for an app: counts, never users."""

    organization: Organization
    grants: int
    last_used_at: datetime | None


def _check_text(value: str, label: str) -> str:
    value = value.strip()
    if len(value) > _MAX_DESCRIPTION:
        raise ValueError(f"The {label} must be at most {_MAX_DESCRIPTION} characters long.")
    refuse_disguising_characters(value, label, also_allowed=_LINE_BREAKS)
    return value


def _check_url(value: str, label: str, *, required: bool = False) -> str | None:
    value = value.strip()
    if not value:
        if required:
            raise ValueError(f"Enter the app's {label}: an https URL.")
        return None
    https_url(value, label)
    return value


def _check_redirect_uris(text: str) -> tuple[str, ...]:
    lines = [line.strip() for line in text.splitlines()]
    uris: list[str] = []
    for number, line in enumerate(lines, start=1):
        if not line:
            continue
        try:
            uris.append(validate_redirect_uri(line))
        except ProtocolError as exc:
            raise ValueError(f"Line {number}: {exc.description}") from exc
    if not uris or len(uris) > 20:
        raise ValueError("Enter 1 to 20 redirect URIs, one per line.")
    return tuple(dict.fromkeys(uris))


def check_form(form: AppForm) -> tuple[CheckedApp | None, dict[str, str]]:
    """The checked app, or ``None`` and one message per field that is wrong."""
    errors: dict[str, str] = {}

    def run(name: str, check: Callable[[], T]) -> T | None:
        try:
            return check()
        except ProtocolError as exc:
            errors[name] = exc.description
        except ValueError as exc:
            errors[name] = str(exc)
        return None

    name = run("name", lambda: validate_client_name(form.name))
    description = run("description", lambda: _check_text(form.description, "description"))
    client_uri = run("client_uri", lambda: _check_url(form.client_uri, "homepage", required=True))
    policy_uri = run("policy_uri", lambda: _check_url(form.policy_uri, "privacy policy"))
    tos_uri = run("tos_uri", lambda: _check_url(form.tos_uri, "terms of service"))
    redirect_uris = run("redirect_uris", lambda: _check_redirect_uris(form.redirect_uris))
    if form.kind not in ("public", "confidential"):
        errors["kind"] = "Choose whether the app is public or confidential."
    unknown = sorted(set(form.scopes) - CATALOG.keys())
    if unknown:
        errors["scopes"] = f"Unknown scope: {' '.join(unknown)}."
    elif not form.scopes:
        errors["scopes"] = "Choose at least one permission the app may ask for."
    if errors or name is None or client_uri is None or redirect_uris is None:
        return None, errors
    return (
        CheckedApp(
            name=name,
            description=description or "",
            client_uri=client_uri,
            policy_uri=policy_uri,
            tos_uri=tos_uri,
            redirect_uris=redirect_uris,
            confidential=form.kind == "confidential",
            scope=format_scope(form.scopes),
        ),
        {},
    )


async def _administered(conn: AsyncConnection, user_id: str) -> list[Organization]:
    return [org for org, role in await list_memberships(conn, user_id) if role in ADMIN_ROLES]


async def _managed(
    conn: AsyncConnection, profile: Profile, organization: Organization
) -> ManagedApp | None:
    client = await get_client(conn, profile.client_id)
    if client is None:
        return None
    logo = await storage.logo_info(conn, client.id)
    return ManagedApp(client, profile, organization, *(logo or (None, None)))


async def my_apps(conn: AsyncConnection, user_id: str) -> list[ManagedApp]:
    """The apps published by the organizations the user owns or administers, oldest first."""
    organizations = {org.id: org for org in await _administered(conn, user_id)}
    found = []
    for profile in await storage.clients_of_organizations(conn, list(organizations)):
        app = await _managed(conn, profile, organizations[profile.organization_id])
        if app is not None:
            found.append(app)
    return found


async def publishing_organizations(conn: AsyncConnection, user_id: str) -> list[Organization]:
    """The organizations the user may create apps for: those they own or administer."""
    return await _administered(conn, user_id)


async def managed_app(conn: AsyncConnection, client_id: str, user_id: str) -> ManagedApp:
    """The console app ``client_id`` when the user owns or administers its organization;
    `NotAppAdmin` for another member of it, `AppNotFound` for anyone else."""
    profile = await storage.get_profile(conn, client_id) if len(client_id) <= 512 else None
    organization = (
        await get_organization(conn, profile.organization_id) if profile is not None else None
    )
    if profile is None or organization is None:
        raise AppNotFound(client_id)
    role = await membership_role(conn, organization.id, user_id)
    if role is None:
        raise AppNotFound(client_id)
    if role not in ADMIN_ROLES:
        raise NotAppAdmin(organization, role)
    app = await _managed(conn, profile, organization)
    if app is None:
        raise AppNotFound(client_id)
    return app


async def organization_for_new_app(
    conn: AsyncConnection, organization_id: str, user_id: str
) -> Organization:
    """The organization a new app is published by; `NotAppAdmin` unless the user owns or
    administers it (an unknown id, or one the user is not in, is refused the same way)."""
    organization = await get_organization(conn, organization_id) if organization_id else None
    role = (
        await membership_role(conn, organization.id, user_id) if organization is not None else None
    )
    if organization is None or role not in ADMIN_ROLES:
        raise NotAppAdmin(organization if role is not None else None, role)
    return organization


async def create_app(
    conn: AsyncConnection,
    app: CheckedApp,
    *,
    organization: Organization,
    logo: Logo | None,
    user_id: str,
    now: datetime,
    hasher: SecretHasher,
) -> tuple[Client, str | None]:
    """Register the app's client (unverified), its profile and logo; audited. Returns the
    client and its secret — shown once, only its hash is kept."""
    client, secret = await create_client(
        conn,
        name=app.name,
        redirect_uris=app.redirect_uris,
        confidential=app.confidential,
        now=now,
        hasher=hasher,
        origin=ORIGIN,
        scope=app.scope,
        client_uri=app.client_uri,
        logo_uri=logo.source_url if logo is not None else None,
    )
    await storage.insert_profile(
        conn,
        Profile(
            client_id=client.id,
            organization_id=organization.id,
            description=app.description,
            policy_uri=app.policy_uri,
            tos_uri=app.tos_uri,
            created_by=user_id,
            created_at=now,
            updated_at=now,
        ),
    )
    if logo is not None:
        await storage.put_logo(conn, client.id, logo, now=now)
    await audit.record(
        conn,
        action="client.created",
        actor=user_id,
        now=now,
        client_id=client.id,
        organization_id=organization.id,
        detail={
            "via": ORIGIN,
            "name": client.name,
            "kind": "confidential" if client.is_confidential else "public",
            "redirect_uris": list(client.redirect_uris),
            "scope": client.scope,
            "logo": logo is not None,
        },
    )
    return client, secret


async def update_app(
    conn: AsyncConnection,
    app: ManagedApp,
    checked: CheckedApp,
    *,
    logo: LogoChange,
    user_id: str,
    now: datetime,
) -> None:
    """Change the app's metadata (as `client_lifecycle.update_client` checks and audits it),
    its profile and its logo. Public stays public and confidential stays confidential."""
    if checked.confidential != app.client.is_confidential:
        raise ValueError("An app cannot change between public and confidential.")
    logo_uri = app.client.logo_uri
    if logo.logo is not None:
        logo_uri = logo.logo.source_url
        await storage.put_logo(conn, app.client.id, logo.logo, now=now)
    elif logo.remove:
        logo_uri = None
        await storage.delete_logo(conn, app.client.id)
    await client_lifecycle.update_client(
        conn,
        app.client,
        name=checked.name,
        redirect_uris=checked.redirect_uris,
        scope=checked.scope,
        actor=user_id,
        now=now,
        client_uri=checked.client_uri,
        logo_uri=logo_uri,
    )
    await storage.update_profile(
        conn,
        app.client.id,
        description=checked.description,
        policy_uri=checked.policy_uri,
        tos_uri=checked.tos_uri,
        now=now,
    )
    await audit.record(
        conn,
        action="client.profile_updated",
        actor=user_id,
        now=now,
        client_id=app.client.id,
        organization_id=app.organization.id,
        detail={
            "client_uri": checked.client_uri,
            "policy_uri": checked.policy_uri,
            "tos_uri": checked.tos_uri,
            "logo": "replaced" if logo.logo else "removed" if logo.remove else "kept",
        },
    )


async def installations(conn: AsyncConnection, client_id: str) -> list[Installation]:
    """Per organization holding live grants for the app: how many, and their last use."""
    counts: dict[str, tuple[int, datetime | None]] = {}
    for grant in await grants.list_grants(conn, client_id=client_id):
        count, last = counts.get(grant.organization_id, (0, None))
        used = grant.last_used_at
        counts[grant.organization_id] = (
            count + 1,
            max(last, used) if last is not None and used is not None else last or used,
        )
    found = []
    for organization_id, (count, last) in counts.items():
        organization = await get_organization(conn, organization_id)
        if organization is not None:
            found.append(Installation(organization, count, last))
    return sorted(found, key=lambda item: item.organization.name.lower())


def parse_grace(text: str) -> timedelta:
    """The grace period of a rotation, in whole hours from 0 to 168 (7 days)."""
    value = text.strip()
    if not value.isdigit() or int(value) > MAX_GRACE_HOURS:
        raise ValueError(
            f"The grace period must be a whole number of hours from 0 to {MAX_GRACE_HOURS} "
            "(7 days)."
        )
    return timedelta(hours=int(value))


async def rotate_secret(
    conn: AsyncConnection,
    app: ManagedApp,
    *,
    grace: timedelta,
    user_id: str,
    now: datetime,
    hasher: SecretHasher,
) -> client_lifecycle.RotatedSecret:
    """A new secret for a confidential app; the current one stays accepted for ``grace``."""
    return await client_lifecycle.rotate_secret(
        conn, app.client, grace=grace, actor=user_id, now=now, hasher=hasher
    )


async def delete_app(
    conn: AsyncConnection, app: ManagedApp, *, confirmation: str, user_id: str, now: datetime
) -> int:
    """Delete the app once the user typed its name exactly; every grant is revoked (its
    tokens answer 410). The number of grants revoked."""
    if confirmation.strip() != app.client.name:
        raise ValueError(f"Type the app's name, {app.client.name}, exactly to delete it.")
    return await client_lifecycle.delete_client(
        conn, app.client, actor=user_id, now=now, reason="client_deleted"
    )
