"""``i18n-connect keys``: rotating the access-token signing keys."""

from __future__ import annotations

import typer

from i18n_connect.cli.output import JsonOption, emit, iso
from i18n_connect.cli.runner import run_async
from i18n_connect.services import Services

__all__ = ["group"]

group = typer.Typer(help="Access-token signing keys.", no_args_is_help=True)


@group.command("rotate")
def keys_rotate(as_json: JsonOption = False) -> None:
    """Add a signing key that signs from now on; older keys stay published until their tokens
    have expired. Running servers pick the new key up within a minute.

    Example: i18n-connect keys rotate --json
    """
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
