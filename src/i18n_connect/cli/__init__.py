"""The ``i18n-connect`` command line (SPEC §7).

Every command that prints data accepts ``--json`` and then prints one JSON
object. Bad input ends with exit status 1 and one line on stderr, never a
traceback. Only ``migrate``, ``serve`` and ``demo`` migrate the database; the
other commands refuse one that is not at the head revision.
"""

from __future__ import annotations

import typer

from i18n_connect.cli import audit, clients, gc, grants, keys, orgs, server, users, webhooks
from i18n_connect.cli.help import plain_help

__all__ = ["app", "command", "main"]

app = typer.Typer(
    name="i18n-connect",
    help="OAuth 2.1 partner access for a translation-management platform.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.command()(server.migrate)
app.command()(server.serve)
app.command()(server.demo)
app.add_typer(users.group, name="users")
app.add_typer(orgs.group, name="orgs")
app.add_typer(clients.group, name="clients")
app.add_typer(keys.group, name="keys")
app.add_typer(grants.group, name="grants")
app.add_typer(audit.group, name="audit")
app.add_typer(webhooks.group, name="webhooks")
app.command("gc")(gc.gc_command)

command = plain_help(typer.main.get_command(app))


def main() -> None:
    command(prog_name="i18n-connect")
