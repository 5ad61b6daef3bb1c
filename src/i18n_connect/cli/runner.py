"""Running a command on the database: settings from the environment, the schema migrated or
checked, async domain work under `asyncio.run`, and its failures as one ``error: …`` line."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from pydantic import ValidationError
from sqlalchemy.exc import ArgumentError, DBAPIError

from i18n_connect.cli.output import fail
from i18n_connect.errors import ProtocolError
from i18n_connect.services import Services
from i18n_connect.settings import ConfigurationError, Settings
from i18n_connect.storage import async_url
from i18n_connect.storage import migrate as migrations

__all__ = ["load_settings", "require_migrated", "run_async", "run_services", "upgrade_database"]

T = TypeVar("T")

NEEDS_MIGRATING = "the database needs migrating: run 'i18n-connect migrate'"


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


@contextmanager
def database_errors() -> Iterator[None]:
    try:
        yield
    except (DBAPIError, OSError) as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise fail(f"cannot use the database: {reason}") from exc


def upgrade_database(settings: Settings) -> None:
    """Apply pending migrations; an unreachable database ends the command with one line."""
    with database_errors():
        migrations.upgrade(settings.database_url)


def require_migrated(settings: Settings) -> None:
    """End the command with one line unless the schema is at the head revision: only
    ``migrate``, ``serve`` and ``demo`` change the schema."""
    with database_errors():
        behind = migrations.needs_migration(settings.database_url)
    if behind:
        raise fail(NEEDS_MIGRATING)


def run_async(work: Callable[[Services], Awaitable[T]], settings: Settings | None = None) -> T:
    """Check the schema is current, then run ``work`` (see `run_services`)."""
    settings = settings or load_settings()
    require_migrated(settings)
    return run_services(work, settings)


def run_services(work: Callable[[Services], Awaitable[T]], settings: Settings) -> T:
    """Run ``work`` with services on the configured database and close them.

    Domain errors (`ProtocolError`, `ValueError`) and an unreachable database
    end the command with one ``error: …`` line and exit status 1.
    """

    async def main() -> T:
        services = Services.build(settings)
        try:
            return await work(services)
        finally:
            await services.db.dispose()

    with database_errors():
        try:
            return asyncio.run(main())
        except (ProtocolError, ValueError) as exc:
            raise fail(str(exc)) from exc
