"""``i18n-connect users``: user accounts."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from i18n_connect.cli import output
from i18n_connect.cli.output import JsonOption, emit, fail, iso
from i18n_connect.cli.runner import run_async
from i18n_connect.platform import accounts
from i18n_connect.services import Services

__all__ = ["group"]

group = typer.Typer(help="User accounts.", no_args_is_help=True)


def _user_json(user: accounts.User) -> dict[str, Any]:
    return {
        "id": user.id,
        "email": user.email,
        "name": user.name,
        "created_at": iso(user.created_at),
    }


def _password(given: str | None, from_stdin: bool) -> str:
    """The password from --password, from the first line of standard input, or asked twice on a
    terminal; without a terminal to ask on, one line says what to do instead."""
    if given is not None and from_stdin:
        raise fail("give the password with --password or --password-stdin, not both")
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise fail("no password on standard input: write it as its first line")
        return line
    if given is not None:
        return given
    if not output.on_terminal():
        raise fail("no terminal to ask for the password on: use --password-stdin")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True))


@group.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Sign-in email (stored in lower case).")],
    password: Annotated[
        str | None,
        typer.Option(
            help="At least 8 characters. Without it (or --password-stdin) it is asked for "
            "twice on a terminal; a command line is visible to other local users.",
        ),
    ] = None,
    password_stdin: Annotated[
        bool,
        typer.Option(
            "--password-stdin",
            help="Read the password from the first line of standard input (for scripts).",
        ),
    ] = False,
    name: Annotated[
        str | None, typer.Option(help="Display name (default: the email's local part).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a user who can sign in with email and password.

    Example: i18n-connect users create --email ada@example.com --password-stdin < password.txt
    """
    secret = _password(password, password_stdin)

    async def work(services: Services) -> accounts.User:
        async with services.db.transaction() as conn:
            return await accounts.create_user(
                conn, email=email, password=secret, name=name, now=services.clock.now()
            )

    user = run_async(work)
    emit(_user_json(user), as_json, f"created user {user.email} ({user.id})")


@group.command("list")
def users_list(as_json: JsonOption = False) -> None:
    """List every user, oldest first.

    Example: i18n-connect users list --json
    """

    async def work(services: Services) -> list[accounts.User]:
        async with services.db.transaction(readonly=True) as conn:
            return await accounts.list_users(conn)

    rows = [_user_json(user) for user in run_async(work)]
    lines = [f"{'EMAIL':<32} {'ID':<28} {'CREATED':<20} NAME"]
    lines += [f"{r['email']:<32} {r['id']:<28} {r['created_at']:<20} {r['name']}" for r in rows]
    emit({"users": rows}, as_json, "\n".join(lines) if rows else "no users yet")
