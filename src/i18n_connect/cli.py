"""The ``i18n-connect`` command line (SPEC §7).

Every command that prints data accepts ``--json`` and then prints one JSON
object. Bad input ends with exit status 1 and one line on stderr, never a
traceback.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

import typer

from i18n_connect.settings import ConfigurationError, Settings
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
    """Print one line to stderr and return the exit to raise."""
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
        settings.server_secret()
    except (ConfigurationError, ValueError) as exc:
        raise fail(str(exc).splitlines()[0]) from exc
    return settings


@app.command()
def migrate() -> None:
    """Apply pending database migrations."""
    settings = load_settings()
    migrations.upgrade(settings.database_url)
    typer.echo("database is up to date")


@app.command()
def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Apply pending migrations, then serve HTTP."""
    import uvicorn

    settings = load_settings(host, port)
    migrations.upgrade(settings.database_url)
    uvicorn.run(
        "i18n_connect.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        proxy_headers=False,
        server_header=False,
        log_config=None,
    )


keys_app = typer.Typer(help="Access-token signing keys.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("rotate")
def keys_rotate(as_json: JsonOption = False) -> None:
    """Add a signing key that signs from now on; older keys stay published until their tokens
    have expired. Running servers pick the new key up within a minute."""
    import asyncio

    from i18n_connect.clock import SystemClock
    from i18n_connect.oauth.access_tokens import ACCESS_TOKEN_LIFETIME
    from i18n_connect.oauth.keys import Rotation, rotate_keys
    from i18n_connect.storage import Database

    settings = load_settings()
    migrations.upgrade(settings.database_url)

    async def rotate() -> Rotation:
        db = Database(settings.database_url)
        try:
            async with db.transaction() as conn:
                return await rotate_keys(
                    conn,
                    now=SystemClock().now(),
                    kek=settings.derived_key("signing-key"),
                    token_lifetime=ACCESS_TOKEN_LIFETIME,
                )
        finally:
            await db.dispose()

    rotation = asyncio.run(rotate())
    until = rotation.retired_published_until.isoformat()
    retired = ", ".join(rotation.retired) or "none"
    emit(
        {"kid": rotation.kid, "retired": list(rotation.retired), "retired_published_until": until},
        as_json,
        f"signing key {rotation.kid} is now current; retired: {retired} "
        f"(still published until {until})",
    )


def main() -> None:
    app()
