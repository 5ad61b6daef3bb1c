"""``i18n-connect gc``: deleting expired and stale rows."""

from __future__ import annotations

from typing import Annotated

import typer

from i18n_connect import gc
from i18n_connect.cli.output import JsonOption, emit
from i18n_connect.cli.runner import run_async
from i18n_connect.services import Services

__all__ = ["gc_command"]


def gc_command(
    unused_days: Annotated[
        int,
        typer.Option(
            "--unused-days", min=1, help="Delete self-registered clients unused this many days."
        ),
    ] = gc.DEFAULT_UNUSED_DAYS,
    as_json: JsonOption = False,
) -> None:
    """Delete expired codes, authorization requests, refresh and installation tokens, browser
    sessions and old rate-limit counters, and self-registered clients unused for --unused-days
    that hold no live grant.

    Example: i18n-connect gc --unused-days 60
    """

    async def work(services: Services) -> dict[str, int]:
        return await gc.collect_once(services.db, services.clock, unused_days=unused_days)

    removed = run_async(work)
    text = "\n".join(f"{name}: {count} deleted" for name, count in removed.items())
    emit({"deleted": removed}, as_json, text)
