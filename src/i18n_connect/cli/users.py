"""``i18n-connect users``: user accounts."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from i18n_connect.cli.output import JsonOption, emit, iso
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


@group.command("create")
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
