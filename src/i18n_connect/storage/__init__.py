"""Persistence: tables, the database handle, migrations, and one store per concern."""

from i18n_connect.storage.database import Database, async_url

__all__ = ["Database", "async_url"]
