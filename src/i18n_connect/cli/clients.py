"""``i18n-connect clients``: registering, inspecting, changing and deleting OAuth clients
(partner apps), and rotating their secrets."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Annotated, Any

import typer
from sqlalchemy.ext.asyncio import AsyncConnection

from i18n_connect import grants
from i18n_connect.cli import output
from i18n_connect.cli.output import JsonOption, emit, fail, iso
from i18n_connect.cli.runner import run_async
from i18n_connect.oauth import client_lifecycle
from i18n_connect.oauth.client_lifecycle import DEFAULT_GRACE, existing_client
from i18n_connect.oauth.clients import Client, create_client
from i18n_connect.oauth.registration import DEVICE_CODE_GRANT
from i18n_connect.services import Services
from i18n_connect.storage.clients import DEFAULT_GRANT_TYPES

__all__ = ["group"]

group = typer.Typer(help="OAuth clients (partner apps).", no_args_is_help=True)


def _client_json(client: Client, secret: str | None) -> dict[str, Any]:
    return {
        "client_id": client.id,
        "client_secret": secret,
        "name": client.name,
        "redirect_uris": list(client.redirect_uris),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "scope": client.scope,
        "created_at": iso(client.created_at),
    }


@group.command("create")
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
    device_flow: Annotated[
        bool,
        typer.Option("--device-flow", help="Also allow the device authorization grant (RFC 8628)."),
    ] = False,
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
                grant_types=(*DEFAULT_GRANT_TYPES, DEVICE_CODE_GRANT)
                if device_flow
                else DEFAULT_GRANT_TYPES,
            )

    client, secret = run_async(work)
    text = f"client_id: {client.id}"
    if secret is not None:
        text += f"\nclient_secret: {secret}\n(the secret is shown only now: store it safely)"
    emit(_client_json(client, secret), as_json, text)


ClientIdArgument = Annotated[str, typer.Argument(help="The client's id (cli_... or an https URL).")]
_ORIGINS = {
    "cli": "operator",
    "registration": "registered",
    "metadata_document": "metadata",
    "console": "console",
}
_DURATION = re.compile(r"(\d{1,6})([smhd]?)")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "": "seconds"}


def parse_duration(text: str) -> timedelta:
    """``90s``, ``30m``, ``24h``, ``7d`` or a number of seconds."""
    match = _DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise fail(f"invalid duration {text!r}: use e.g. 0, 30m, 24h or 7d")
    return timedelta(**{_UNITS[match[2]]: int(match[1])})


def _summary(client: Client) -> dict[str, Any]:
    return {
        "client_id": client.id,
        "name": client.name,
        "kind": "confidential" if client.is_confidential else "public",
        "origin": _ORIGINS.get(client.origin, client.origin),
        "verified": client.verified,
        "created_at": iso(client.created_at),
        "last_used_at": iso(client.last_used_at) if client.last_used_at else None,
    }


def _rotation(client: Client, now: datetime) -> dict[str, Any]:
    accepted = client.previous_secret_accepted(now)
    until = client.previous_secret_expires_at
    return {
        "previous_secret_accepted": accepted,
        "previous_secret_accepted_until": iso(until) if accepted and until else None,
    }


async def _details(conn: AsyncConnection, client: Client, now: datetime) -> dict[str, Any]:
    live = await grants.list_grants(conn, client_id=client.id)
    return {
        **_summary(client),
        "token_endpoint_auth_method": client.token_endpoint_auth_method,
        "redirect_uris": list(client.redirect_uris),
        "scope": client.scope,
        "client_uri": client.client_uri,
        "logo_uri": client.logo_uri,
        "grants": len(live),
        "secret_rotation": _rotation(client, now) if client.is_confidential else None,
    }


def _details_text(data: dict[str, Any]) -> str:
    lines = [f"{name}: {data[name]}" for name in ("client_id", "name", "kind", "origin")]
    lines += [
        f"verified: {'yes' if data['verified'] else 'no'}",
        f"token_endpoint_auth_method: {data['token_endpoint_auth_method']}",
        *(f"redirect_uri: {uri}" for uri in data["redirect_uris"]),
        f"scope: {data['scope'] or '(the default scopes)'}",
        f"created_at: {data['created_at']}",
        f"last_used_at: {data['last_used_at'] or 'never'}",
        f"grants: {data['grants']}",
    ]
    rotation = data["secret_rotation"]
    if rotation is not None:
        until = rotation["previous_secret_accepted_until"]
        lines.append(
            f"previous secret: accepted until {until}" if until else "previous secret: none"
        )
    return "\n".join(lines)


@group.command("list")
def clients_list(as_json: JsonOption = False) -> None:
    """List the clients, oldest first: kind, origin (operator, registered or metadata document),
    verified mark, creation and last use.

    Example: i18n-connect clients list --json
    """

    async def work(services: Services) -> list[dict[str, Any]]:
        async with services.db.transaction(readonly=True) as conn:
            return [_summary(client) for client in await client_lifecycle.list_clients(conn)]

    rows = run_async(work)
    lines = [f"{'ID':<28} {'KIND':<12} {'ORIGIN':<10} {'VERIFIED':<8} {'LAST USED':<20} NAME"]
    lines += [
        f"{r['client_id']:<28} {r['kind']:<12} {r['origin']:<10} "
        f"{'yes' if r['verified'] else 'no':<8} {r['last_used_at'] or 'never':<20} {r['name']}"
        for r in rows
    ]
    emit({"clients": rows}, as_json, "\n".join(lines) if rows else "no clients")


@group.command("show")
def clients_show(client_id: ClientIdArgument, as_json: JsonOption = False) -> None:
    """Show a client: its metadata, redirect URIs, scopes, live grants, and whether a secret
    replaced by a rotation is still accepted (and until when).

    Example: i18n-connect clients show cli_0123456789abcdef01234567
    """

    async def work(services: Services) -> dict[str, Any]:
        async with services.db.transaction(readonly=True) as conn:
            client = await existing_client(conn, client_id)
            return await _details(conn, client, services.clock.now())

    data = run_async(work)
    emit(data, as_json, _details_text(data))


@group.command("update")
def clients_update(
    client_id: ClientIdArgument,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    redirect_uri: Annotated[
        list[str] | None,
        typer.Option(
            metavar="URI", help="Replaces every redirect URI; repeat for several (as in create)."
        ),
    ] = None,
    scope: Annotated[
        str | None,
        typer.Option(metavar="SCOPES", help='New scopes; "" for the default scopes.'),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Change a client's name, redirect URIs or scopes, checked as in create; what is not
    given stays.

    Example: i18n-connect clients update cli_0123456789abcdef01234567
    --redirect-uri https://app.example/callback
    """

    async def work(services: Services) -> dict[str, Any]:
        now = services.clock.now()
        async with services.db.transaction() as conn:
            client = await existing_client(conn, client_id)
            updated = await client_lifecycle.update_client(
                conn,
                client,
                name=client.name if name is None else name,
                redirect_uris=client.redirect_uris if redirect_uri is None else redirect_uri,
                scope=client.scope if scope is None else (scope or None),
                client_uri=client.client_uri,
                logo_uri=client.logo_uri,
                actor="cli",
                now=now,
            )
            return await _details(conn, updated, now)

    data = run_async(work)
    emit(data, as_json, _details_text(data))


@group.command("rotate-secret")
def clients_rotate_secret(
    client_id: ClientIdArgument,
    grace: Annotated[
        str,
        typer.Option(
            metavar="DURATION",
            help="How long the current secret keeps working: 0 (stops now) up to 7d.",
        ),
    ] = "24h",
    as_json: JsonOption = False,
) -> None:
    """Give a confidential client a new secret (printed once); the current one keeps working
    for the grace period, then stops.

    Example: i18n-connect clients rotate-secret cli_0123456789abcdef01234567 --grace 24h
    """
    period = parse_duration(grace) if grace else DEFAULT_GRACE

    async def work(services: Services) -> client_lifecycle.RotatedSecret:
        async with services.db.transaction() as conn:
            client = await existing_client(conn, client_id)
            return await client_lifecycle.rotate_secret(
                conn,
                client,
                grace=period,
                actor="cli",
                now=services.clock.now(),
                hasher=services.hasher,
            )

    rotated = run_async(work)
    until = rotated.previous_accepted_until
    text = f"client_secret: {rotated.secret}\n(the secret is shown only now: store it safely)\n" + (
        f"the previous secret works until {iso(until)}"
        if until
        else "the previous secret no longer works"
    )
    data = {
        "client_id": rotated.client.id,
        "client_secret": rotated.secret,
        "previous_secret_accepted_until": iso(until) if until else None,
    }
    emit(data, as_json, text)


@group.command("delete")
def clients_delete(
    client_id: ClientIdArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete a client and revoke every grant it holds: its tokens stop working (410), its
    secret and registration access token too.

    Example: i18n-connect clients delete cli_0123456789abcdef01234567 --yes
    """

    async def look(services: Services) -> dict[str, Any]:
        async with services.db.transaction(readonly=True) as conn:
            client = await existing_client(conn, client_id)
            return await _details(conn, client, services.clock.now())

    async def work(services: Services) -> int:
        async with services.db.transaction() as conn:
            client = await existing_client(conn, client_id)
            return await client_lifecycle.delete_client(
                conn, client, actor="cli", now=services.clock.now(), reason="client_deleted"
            )

    if not yes:
        found = run_async(look)
        if not output.on_terminal():
            raise fail("deleting a client needs --yes when not run on a terminal")
        question = (
            f"Delete {found['name']} ({client_id}) and revoke its {found['grants']} grant(s)?"
        )
        if not typer.confirm(question, default=False):
            raise fail("not deleted")
    revoked = run_async(work)
    text = f"deleted client {client_id}; revoked {revoked} grant(s)"
    emit({"client_id": client_id, "deleted": True, "grants_revoked": revoked}, as_json, text)


@group.command("verify")
def clients_verify(
    client_id: ClientIdArgument,
    unverify: Annotated[
        bool, typer.Option("--unverify", help="Show the Unverified mark again.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Mark a client's publisher as known to you: the consent screen and the connected-apps
    page no longer show it as Unverified (--unverify undoes it).

    Example: i18n-connect clients verify cli_0123456789abcdef01234567
    """

    async def work(services: Services) -> dict[str, Any]:
        now = services.clock.now()
        async with services.db.transaction() as conn:
            client = await existing_client(conn, client_id)
            changed = await client_lifecycle.set_verified(
                conn, client, verified=not unverify, actor="cli", now=now
            )
            return await _details(conn, changed, now)

    data = run_async(work)
    emit(data, as_json, f"client {client_id} is {'verified' if data['verified'] else 'unverified'}")
