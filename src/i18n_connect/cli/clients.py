"""``i18n-connect clients``: registering OAuth clients (partner apps)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from i18n_connect.cli.output import JsonOption, emit, iso
from i18n_connect.cli.runner import run_async
from i18n_connect.oauth.clients import Client, create_client
from i18n_connect.services import Services

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
    emit(_client_json(client, secret), as_json, text)
