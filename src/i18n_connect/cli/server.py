"""``migrate``, ``serve`` and ``demo``: the only commands that change the schema."""

from __future__ import annotations

from typing import Annotated

import typer

from i18n_connect.cli.output import fail
from i18n_connect.cli.runner import load_settings, run_services, upgrade_database

__all__ = ["demo", "migrate", "serve"]

HostOption = Annotated[str, typer.Option(help="Interface to listen on.")]
PortOption = Annotated[int, typer.Option(help="TCP port to listen on.")]


def migrate() -> None:
    """Apply pending database migrations.

    Example: I18N_CONNECT_DATABASE_URL=postgresql://i18n@db/i18n i18n-connect migrate
    """
    upgrade_database(load_settings())
    typer.echo("database is up to date")


def serve(
    host: HostOption = "127.0.0.1",
    port: PortOption = 8000,
    workers: Annotated[int, typer.Option(min=1, help="Worker processes.")] = 1,
) -> None:
    """Apply pending migrations, then serve HTTP.

    Example: i18n-connect serve --host 0.0.0.0 --port 8000 --workers 4
    """
    import uvicorn

    from i18n_connect.web.http_protocol import GuardedHttpProtocol

    settings = load_settings(host, port)
    upgrade_database(settings)
    uvicorn.run(
        "i18n_connect.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        http=GuardedHttpProtocol,  # bounded request heads, slow heads cut off
        # The client address comes from X-Forwarded-For only behind a trusted proxy.
        proxy_headers=bool(settings.trusted_proxies),
        forwarded_allow_ips=settings.trusted_proxies or None,
        server_header=False,
        log_config=None,
    )


def demo(host: HostOption = "127.0.0.1", port: PortOption = 8000) -> None:
    """Seed demo data once (a second run reuses it), print how to sign in, then serve it and
    the example partner app (port 8001) until Ctrl+C.

    Example: i18n-connect demo --port 8000
    """
    from pathlib import Path

    from i18n_connect import demo_partner
    from i18n_connect.demo import seed, welcome_text

    if not demo_partner.port_is_free(host, port):
        raise fail(
            f"port {port} on {host} is in use: stop what listens there, or pick another --port"
        )
    settings = load_settings(host, port)
    upgrade_database(settings)
    seeded = run_services(seed, settings)
    partner, about_partner = demo_partner.partner_app_for_demo(
        seeded.client_id, settings.issuer, Path("partner-app.db").resolve()
    )
    typer.echo(welcome_text(seeded, settings.issuer))
    typer.echo(about_partner)
    typer.echo("\nServing; Ctrl+C stops. Log lines name their server:\n")
    demo_partner.serve_demo(host, port, partner)
