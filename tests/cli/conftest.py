"""Run the command line in-process against the test database of each backend."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
import sqlalchemy as sa
from click.testing import Result
from typer.testing import CliRunner

from i18n_connect.cli import app
from i18n_connect.settings import Settings

Invoke = Callable[..., Result]


@pytest.fixture
def cli(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Invoke:
    """``cli("orgs", "list", "--json")`` runs ``i18n-connect`` with the test database."""
    assert settings.secret_key is not None
    monkeypatch.setenv("I18N_CONNECT_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("I18N_CONNECT_SECRET_KEY", settings.secret_key.get_secret_value())
    monkeypatch.delenv("I18N_CONNECT_ISSUER", raising=False)
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None) -> Result:
        return runner.invoke(app, list(args), input=input, catch_exceptions=False)

    return invoke


@pytest.fixture
def sync_db(database_url: str) -> Iterator[sa.Engine]:
    """A synchronous engine on the test database, to look at the state a command left."""
    url = database_url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = sa.create_engine(url)
    yield engine
    engine.dispose()
