"""The ``i18n-connect`` command line (SPEC §7).

Every command that prints data accepts ``--json`` and then prints one JSON
object. Bad input ends with exit status 1 and one line on stderr, never a
traceback.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Annotated, Any, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import audit, gc, grants
from i18n_connect.errors import NotFound, ProtocolError
from i18n_connect.oauth.clients import Client, create_client
from i18n_connect.platform import accounts
from i18n_connect.platform import organizations as orgs
from i18n_connect.services import Services
from i18n_connect.settings import ConfigurationError, Settings
from i18n_connect.storage import async_url
from i18n_connect.storage import migrate as migrations

__all__ = ["app", "main"]

app = typer.Typer(
    name="i18n-connect",
    help="OAuth 2.1 partner access for a translation-management platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object.")]
HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option(help="TCP port to listen on.")]


def fail(message: str) -> typer.Exit:
    """Print the message to stderr and return the exit to raise."""
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(code=1)


def emit(data: dict[str, Any], as_json: bool, text: str) -> None:
    typer.echo(json.dumps(data, default=str) if as_json else text)


def load_settings(host: str | None = None, port: int | None = None) -> Settings:
    """Settings from the environment; ``--host``/``--port`` set the issuer when it is not set."""
    if host is not None and port is not None and "I18N_CONNECT_ISSUER" not in os.environ:
        shown = "127.0.0.1" if host in {"0.0.0.0", "::"} else host  # noqa: S104
        os.environ["I18N_CONNECT_ISSUER"] = f"http://{shown}:{port}"
    try:
        settings = Settings()
        async_url(settings.database_url)
        settings.server_secret()
    except ValidationError as exc:
        raise fail(_invalid_settings(exc)) from exc
    except (ConfigurationError, ValueError, ArgumentError) as exc:
        raise fail(str(exc).splitlines()[0]) from exc
    return settings


def _invalid_settings(exc: ValidationError) -> str:
    """One line per bad variable: ``I18N_CONNECT_API_RATE_PER_MINUTE: Input should be ≥ 1``."""
    return "\n".join(
        f"I18N_CONNECT_{'_'.join(map(str, error['loc'])).upper()}: "
        f"{error['msg'].removeprefix('Value error, ')}"
        for error in exc.errors()
    )


T = TypeVar("T")


def upgrade_database(settings: Settings) -> None:
    """Apply pending migrations; an unreachable database ends the command with one line."""
    with database_errors():
        migrations.upgrade(settings.database_url)


@contextmanager
def database_errors() -> Iterator[None]:
    try:
        yield
    except (DBAPIError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise fail(f"cannot use the database: {reason}") from exc


def run_async(work: Callable[[Services], Awaitable[T]], settings: Settings | None = None) -> T:
    """Migrate, then run ``work`` with services on the configured database and close them.

    Domain errors (`ProtocolError`, `ValueError`) and an unreachable database
    end the command with one ``error: …`` line and exit status 1.
    """
    settings = settings or load_settings()

    async def main() -> T:
        services = Services.build(settings)
        try:
            return await work(services)
        finally:
            await services.db.dispose()

    upgrade_database(settings)
    with database_errors():
        try:
            return asyncio.run(main())
        except (ProtocolError, ValueError) as exc:
            raise fail(str(exc)) from exc


def iso(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    upgrade_database(load_settings())
    typer.echo("database is up to date")


@app.command()
def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Apply pending migrations, then serve HTTP."""
    import uvicorn

    from i18n_connect.web.http_protocol import GuardedHttpToolsProtocol

    settings = load_settings(host, port)
    upgrade_database(settings)
    uvicorn.run(
        "i18n_connect.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=GuardedHttpToolsProtocol,  # bounded request heads, slow heads cut off
        # The client address comes from X-Forwarded-For only behind a trusted proxy.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        server_header=False,
        log_config=None,
    )


@app.command()
def demo(host: HostOption = "127.0.0.1", port: PortOption = 8000) -> None:
    """Seed demo data once (a second run reuses it), print how to sign in, then serve.

    Example: i18n-connect demo --port 8000
    """
    from pathlib import Path

    from i18n_connect import demo_partner
    from i18n_connect.demo import seed, welcome_text

    settings = load_settings(host, port)
    seeded = run_async(seed, settings)
    typer.echo(welcome_text(seeded, settings.issuer))
    partner = demo_partner.load_partner_app(
        seeded.client_id, settings.issuer, Path("partner-app.db")
    )
    if partner is None or not demo_partner.port_is_free("127.0.0.1", 8001):
        typer.echo("The example partner app is not served (needs a source checkout and port 8001).")
        serve(host=host, port=port, workers=1)
        return
    typer.echo(
        f"Example partner app: {demo_partner.PARTNER_APP_URL}/ (sign in there with any email "
        "and a password of 8+ characters, then click Connect)\n"
    )
    demo_partner.serve_demo(host, port, partner)


users_app = typer.Typer(help="User accounts.", no_args_is_help=True)
app.add_typer(users_app, name="users")


def _user_json(user: accounts.User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "created_at": iso(user.created_at),
    }


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Sign-in email (stored in lower case).")],
    password: Annotated[
        str,
        typer.Option(
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
            help="At least 8 characters; asked for when not given.",
        ),
    ],
    name: Annotated[
        str | None, typer.Option(help="Display name (default: the email's local part).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a user who can sign in with email and password.

    Example: i18n-connect users create --email ada@example.com --name "Ada Lovelace"
    """

    async def work(services: Services) -> accounts.User:
        async with services.db.transaction() as conn:
            return await accounts.create_user(
                conn, email=email, password=password, name=name, now=services.clock.now()
            )

    user = run_async(work)
    emit(_user_json(user), as_json, f"created user {user.email} ({user.id})")


orgs_app = typer.Typer(help="Organizations and their members.", no_args_is_help=True)
app.add_typer(orgs_app, name="orgs")

OrgOption = Annotated[str, typer.Option("--org", help="The organization's slug.")]
EmailOption = Annotated[str, typer.Option(help="The member's email.")]
RoleOption = Annotated[str, typer.Option(help="owner, admin or member.")]


def _organization_json(org: orgs.Organization) -> dict[str, Any]:
    return {"id": org.id, "slug": org.slug, "name": org.name, "created_at": iso(org.created_at)}


async def _organization_by_slug(conn: AsyncConnection, slug: str) -> orgs.Organization:
    organization = await orgs.get_organization_by_slug(conn, slug)
    if organization is None:
        raise NotFound(f"no organization with the slug {slug!r}")
    return organization


async def _user_by_email(conn: AsyncConnection, email: str) -> accounts.User:
    user = await accounts.get_user_by_email(conn, email)
    if user is None:
        raise NotFound(f"no user with the email {accounts.normalize_email(email)}")
    return user


@orgs_app.command("create")
def orgs_create(
    slug: Annotated[str, typer.Option(help="2-64 lowercase letters, digits or hyphens.")],
    name: Annotated[str, typer.Option(help="Display name.")],
    owner: Annotated[str, typer.Option(help="Email of the existing user who will own it.")],
    as_json: JsonOption = False,
) -> None:
    """Create an organization owned by an existing user.

    Example: i18n-connect orgs create --slug acme --name "Acme Inc." --owner ada@example.com
    """

    async def work(services: Services) -> orgs.Organization:
        async with services.db.transaction() as conn:
            user = await _user_by_email(conn, owner)
            return await orgs.create_organization(
                conn, slug=slug, name=name, owner_user_id=user.id, now=services.clock.now()
            )

    org = run_async(work)
    emit(_organization_json(org), as_json, f"created organization {org.slug} ({org.id})")


MembershipChange = Callable[[AsyncConnection, str, str, datetime], Awaitable[None]]


def _change_membership(org_slug: str, email: str, as_json: bool, change: MembershipChange) -> None:
    """Apply ``change(conn, organization_id, user_id, now)`` and print the resulting role."""

    async def work(services: Services) -> dict[str, Any]:
        async with services.db.transaction() as conn:
            org = await _organization_by_slug(conn, org_slug)
            user = await _user_by_email(conn, email)
            await change(conn, org.id, user.id, services.clock.now())
            role = await orgs.membership_role(conn, org.id, user.id)
        return {
            "organization": org.slug,
            "organization_id": org.id,
            "email": user.email,
            "user_id": user.id,
            "role": role,
        }

    result = run_async(work)
    member, org = result["email"], result["organization"]
    text = (
        f"{member} is now {result['role']} of {org}"
        if result["role"]
        else f"{member} is no longer a member of {org}"
    )
    emit(result, as_json, text)


@orgs_app.command("add-member")
def orgs_add_member(
    org: OrgOption, email: EmailOption, role: RoleOption, as_json: JsonOption = False
) -> None:
    """Add an existing user to an organization.

    Example: i18n-connect orgs add-member --org acme --email bob@example.com --role admin
    """

    async def change(conn: AsyncConnection, org_id: str, user_id: str, now: datetime) -> None:
        await orgs.add_member(
            conn, organization_id=org_id, user_id=user_id, role=role, now=now, actor="cli"
        )

    _change_membership(org, email, as_json, change)


@orgs_app.command("set-role")
def orgs_set_role(
    org: OrgOption, email: EmailOption, role: RoleOption, as_json: JsonOption = False
) -> None:
    """Change a member's role. Demoting to member revokes their grants on the organization;
    the last owner cannot be demoted.

    Example: i18n-connect orgs set-role --org acme --email bob@example.com --role member
    """

    async def change(conn: AsyncConnection, org_id: str, user_id: str, now: datetime) -> None:
        await orgs.set_role(
            conn, organization_id=org_id, user_id=user_id, role=role, now=now, actor="cli"
        )

    _change_membership(org, email, as_json, change)


@orgs_app.command("remove-member")
def orgs_remove_member(org: OrgOption, email: EmailOption, as_json: JsonOption = False) -> None:
    """Remove a member and revoke their grants on the organization; the last owner stays.

    Example: i18n-connect orgs remove-member --org acme --email bob@example.com
    """

    async def change(conn: AsyncConnection, org_id: str, user_id: str, now: datetime) -> None:
        await orgs.remove_member(
            conn, organization_id=org_id, user_id=user_id, now=now, actor="cli"
        )

    _change_membership(org, email, as_json, change)


@orgs_app.command("list")
def orgs_list(as_json: JsonOption = False) -> None:
    """List every organization with its number of members.

    Example: i18n-connect orgs list --json
    """

    async def work(services: Services) -> list[tuple[orgs.Organization, int]]:
        async with services.db.transaction(readonly=True) as conn:
            return await orgs.list_organizations(conn)

    found = run_async(work)
    rows = [{**_organization_json(org), "members": members} for org, members in found]
    lines = [f"{'SLUG':<24} {'MEMBERS':>7}  {'ID':<28} NAME"]
    lines += [f"{r['slug']:<24} {r['members']:>7}  {r['id']:<28} {r['name']}" for r in rows]
    emit({"organizations": rows}, as_json, "\n".join(lines) if rows else "no organizations yet")


@orgs_app.command("members")
def orgs_members(org: OrgOption, as_json: JsonOption = False) -> None:
    """List an organization's members with their roles, owners first.

    Example: i18n-connect orgs members --org acme
    """

    async def work(services: Services) -> tuple[orgs.Organization, list[orgs.Member]]:
        async with services.db.transaction(readonly=True) as conn:
            organization = await _organization_by_slug(conn, org)
            return organization, await orgs.list_members(conn, organization.id)

    organization, members = run_async(work)
    rows = [
        {
            "user_id": m.user_id,
            "email": m.email,
            "name": m.name,
            "role": m.role,
            "joined_at": iso(m.joined_at),
        }
        for m in members
    ]
    lines = [f"{'ROLE':<8} {'EMAIL':<32} NAME"]
    lines += [f"{r['role']:<8} {r['email']:<32} {r['name']}" for r in rows]
    emit({**_organization_json(organization), "members": rows}, as_json, "\n".join(lines))


clients_app = typer.Typer(help="OAuth clients (partner apps).", no_args_is_help=True)
app.add_typer(clients_app, name="clients")


def client_json(client: Client, secret: str | None) -> dict[str, Any]:
    return {
        "client_id": client.id,
        "client_secret": secret,
        "name": client.name,
        "redirect_uris": list(client.redirect_uris),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "scope": client.scope,
        "created_at": iso(client.created_at),
    }


@clients_app.command("create")
def clients_create(
    name: Annotated[str, typer.Option(help="Shown to users on the consent screen.")],
    redirect_uri: Annotated[
        list[str],
        typer.Option(
            metavar="URI",
            help="Exact redirect URI: https, http on a loopback host, or a private-use scheme. "
            "Repeat for several.",
        ),
    ],
    confidential: Annotated[
        bool, typer.Option("--confidential", help="Issue a client secret (server-side apps).")
    ] = False,
    scope: Annotated[
        str | None,
        typer.Option(
            metavar="SCOPES", help="Space-separated scopes asked for when a request has none."
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Register an OAuth client; prints its client_id and, once, its secret.

    Example: i18n-connect clients create --name "My plugin"
    --redirect-uri http://127.0.0.1:8001/connect/callback
    """

    async def work(services: Services) -> tuple[Client, str | None]:
        async with services.db.transaction() as conn:
            return await create_client(
                conn,
                name=name,
                redirect_uris=redirect_uri,
                confidential=confidential,
                now=services.clock.now(),
                hasher=services.hasher,
                origin="cli",
                scope=scope,
            )

    client, secret = run_async(work)
    text = f"client_id: {client.id}"
    if secret is not None:
        text += f"\nclient_secret: {secret}\n(the secret is shown only now: store it safely)"
    emit(client_json(client, secret), as_json, text)


keys_app = typer.Typer(help="Access-token signing keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
def keys_rotate(as_json: JsonOption = False) -> None:
    """Add a signing key that signs from now on; older keys stay published until their tokens
    have expired. Running servers pick the new key up within a minute."""
    from i18n_connect.oauth.access_tokens import ACCESS_TOKEN_LIFETIME
    from i18n_connect.oauth.keys import Rotation, rotate_keys

    async def rotate(services: Services) -> Rotation:
        async with services.db.transaction() as conn:
            return await rotate_keys(
                conn,
                now=services.clock.now(),
                kek=services.settings.derived_key("signing-key"),
                token_lifetime=ACCESS_TOKEN_LIFETIME,
            )

    rotation = run_async(rotate)
    until = iso(rotation.retired_published_until)
    retired = ", ".join(rotation.retired) or "none"
    emit(
        {"kid": rotation.kid, "retired": list(rotation.retired), "retired_published_until": until},
        as_json,
        f"signing key {rotation.kid} is now current; retired: {retired} "
        f"(still published until {until})",
    )


grants_app = typer.Typer(
    help="Grants: a user's consent for a client on an organization.", no_args_is_help=True
)
app.add_typer(grants_app, name="grants")


async def _grant_json(conn: AsyncConnection, grant: grants.Grant) -> dict[str, Any]:
    user = await accounts.get_user(conn, grant.user_id)
    org = await orgs.get_organization(conn, grant.organization_id)
    return {
        "id": grant.id,
        "user_id": grant.user_id,
        "user_email": user.email if user else None,
        "client_id": grant.client_id,
        "organization_id": grant.organization_id,
        "organization": org.slug if org else None,
        "scope": " ".join(grant.scope),
        "created_at": iso(grant.created_at),
        "updated_at": iso(grant.updated_at),
        "last_used_at": iso(grant.last_used_at) if grant.last_used_at else None,
        "revoked_at": iso(grant.revoked_at) if grant.revoked_at else None,
        "revoked_by": grant.revoked_by,
    }


@grants_app.command("list")
def grants_list(
    user: Annotated[str | None, typer.Option(help="Only grants given by this email.")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Only this organization.")] = None,
    include_revoked: Annotated[
        bool, typer.Option("--include-revoked", help="Show revoked grants too.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """List grants, oldest first (live ones unless --include-revoked).

    Example: i18n-connect grants list --user ada@example.com --org acme --json
    """

    async def work(services: Services) -> list[dict[str, Any]]:
        async with services.db.transaction(readonly=True) as conn:
            user_id = (await _user_by_email(conn, user)).id if user else None
            org_id = (await _organization_by_slug(conn, org)).id if org else None
            found = await grants.list_grants(
                conn, user_id=user_id, organization_id=org_id, include_revoked=include_revoked
            )
            return [await _grant_json(conn, grant) for grant in found]

    rows = run_async(work)
    lines = [f"{'ID':<28} {'ORGANIZATION':<16} {'USER':<24} {'CLIENT':<28} SCOPE"]
    lines += [
        f"{r['id']:<28} {r['organization'] or '?':<16} {r['user_email'] or '?':<24} "
        f"{r['client_id']:<28} {r['scope']}" + (" (revoked)" if r["revoked_at"] else "")
        for r in rows
    ]
    emit({"grants": rows}, as_json, "\n".join(lines) if rows else "no grants")


@grants_app.command("revoke")
def grants_revoke(
    grant_id: Annotated[str, typer.Argument(help="The grant's id (grt_...).")],
    as_json: JsonOption = False,
) -> None:
    """Revoke a grant: its refresh tokens are deleted and its installation tokens stop working.
    Revoking a revoked grant changes nothing.

    Example: i18n-connect grants revoke grt_0123456789abcdef01234567
    """

    async def work(services: Services) -> tuple[bool, dict[str, Any]]:
        async with services.db.transaction() as conn:
            revoked = await grants.revoke_grant(
                conn, grant_id, actor="cli", now=services.clock.now(), reason="cli"
            )
            grant = await grants.get_grant(conn, grant_id)
            if grant is None:
                raise NotFound(f"no grant with the id {grant_id!r}")
            return revoked, await _grant_json(conn, grant)

    revoked, row = run_async(work)
    text = f"revoked grant {grant_id}" if revoked else f"grant {grant_id} was already revoked"
    emit({**row, "revoked": revoked}, as_json, text)


audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(audit_app, name="audit")


@audit_app.command("tail")
def audit_tail(
    grant: Annotated[str | None, typer.Option("--grant", help="Only this grant (grt_...).")] = None,
    org: Annotated[str | None, typer.Option("--org", help="Only this organization (slug).")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many events.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Print the newest audit events, oldest first: consents, mints, revocations, membership
    changes. Events never contain secrets.

    Example: i18n-connect audit tail --org acme --limit 50 --json
    """

    async def work(services: Services) -> list[audit.AuditEvent]:
        async with services.db.transaction(readonly=True) as conn:
            org_id = (await _organization_by_slug(conn, org)).id if org else None
            return await audit.recent(conn, limit=limit, grant_id=grant, organization_id=org_id)

    events = run_async(work)
    rows = [
        {
            "id": event.id,
            "occurred_at": iso(event.occurred_at),
            "action": event.action,
            "actor": event.actor,
            "user_id": event.user_id,
            "client_id": event.client_id,
            "organization_id": event.organization_id,
            "grant_id": event.grant_id,
            "detail": event.detail,
        }
        for event in events
    ]
    lines = [
        f"{r['occurred_at']}  {r['action']:<28} actor={r['actor']}"
        + "".join(f" {name}={r[name]}" for name in ("grant_id", "organization_id") if r[name])
        + (f" {json.dumps(r['detail'], sort_keys=True)}" if r["detail"] else "")
        for r in rows
    ]
    emit({"events": rows}, as_json, "\n".join(lines) if rows else "no audit events")


@app.command("gc")
def gc_command(
    unused_days: Annotated[
        int,
        typer.Option(
            "--unused-days", min=1, help="Delete self-registered clients unused this many days."
        ),
    ] = 30,
    as_json: JsonOption = False,
) -> None:
    """Delete expired codes, authorization requests, refresh and installation tokens, browser
    sessions and old rate-limit counters, and self-registered clients unused for --unused-days
    that hold no live grant.

    Example: i18n-connect gc --unused-days 60
    """

    async def work(services: Services) -> dict[str, int]:
        async with services.db.transaction() as conn:
            return await gc.collect_garbage(conn, now=services.clock.now(), unused_days=unused_days)

    removed = run_async(work)
    text = "\n".join(f"{name}: {count} deleted" for name, count in removed.items())
    emit({"deleted": removed}, as_json, text)


def main() -> None:
    app()
