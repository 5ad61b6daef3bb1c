"""Only ``migrate``, ``serve`` and ``demo`` change the schema; every other command refuses a
database that is not at the head revision with one line, and leaves it as it was."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from typer.testing import CliRunner, Result

from i18n_connect.cli import app
from i18n_connect.demo import DEMO_EMAIL
from i18n_connect.storage.migrate import alembic_config
from i18n_connect.storage.tables import users

NEEDS_MIGRATING = "error: the database needs migrating: run 'i18n-connect migrate'\n"
SECRET = "cli-test-secret-0123456789abcdef0123456789"

DATA_COMMANDS = [
    ["users", "create", "--email", "ada@example.com", "--password", "pass-word-1"],
    ["users", "list"],
    ["orgs", "create", "--slug", "acme", "--name", "Acme", "--owner", "ada@example.com"],
    ["orgs", "add-member", "--org", "acme", "--email", "bob@example.com", "--role", "admin"],
    ["orgs", "set-role", "--org", "acme", "--email", "bob@example.com", "--role", "member"],
    ["orgs", "remove-member", "--org", "acme", "--email", "bob@example.com"],
    ["orgs", "list"],
    ["orgs", "members", "--org", "acme"],
    ["clients", "create", "--name", "Plugin", "--redirect-uri", "http://127.0.0.1:8001/cb"],
    ["keys", "rotate"],
    ["grants", "list"],
    ["grants", "revoke", "grt_0123456789abcdef01234567"],
    ["audit", "tail"],
    ["gc"],
]


def _invoke(monkeypatch: pytest.MonkeyPatch, database_url: str, *args: str) -> Result:
    monkeypatch.setenv("I18N_CONNECT_DATABASE_URL", database_url)
    monkeypatch.setenv("I18N_CONNECT_SECRET_KEY", SECRET)
    monkeypatch.delenv("I18N_CONNECT_ISSUER", raising=False)
    return CliRunner().invoke(app, list(args), catch_exceptions=False)


def _refused(result: Result) -> None:
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", NEEDS_MIGRATING)


def _sync(database_url: str) -> str:
    return database_url.replace("postgresql://", "postgresql+psycopg://", 1)


def _tables(database_url: str) -> set[str]:
    engine = sa.create_engine(_sync(database_url))
    try:
        with engine.connect() as conn:
            return set(sa.inspect(conn).get_table_names())
    finally:
        engine.dispose()


def _user_count(database_url: str) -> int:
    engine = sa.create_engine(_sync(database_url))
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(users)).scalar_one())
    finally:
        engine.dispose()


@pytest.fixture
def empty_sqlite(tmp_path: Path) -> str:
    """An existing SQLite file without a single table."""
    path = tmp_path / "empty.db"
    path.touch()
    return f"sqlite:///{path}"


@pytest.mark.parametrize("args", DATA_COMMANDS, ids=[" ".join(a[:2]) for a in DATA_COMMANDS])
def test_every_data_command_refuses_an_empty_database_and_creates_no_table(
    monkeypatch: pytest.MonkeyPatch, empty_sqlite: str, args: list[str]
) -> None:
    _refused(_invoke(monkeypatch, empty_sqlite, *args))
    assert _tables(empty_sqlite) == set()


def test_a_missing_sqlite_file_is_refused_and_not_created(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    path = tmp_path / "nothing-here.db"
    _refused(_invoke(monkeypatch, f"sqlite:///{path}", "orgs", "list"))
    assert not path.exists()


def test_users_create_works_once_the_database_is_migrated(
    monkeypatch: pytest.MonkeyPatch, empty_sqlite: str
) -> None:
    create = ["users", "create", "--email", "ada@example.com", "--password", "pass-word-1"]
    _refused(_invoke(monkeypatch, empty_sqlite, *create))
    migrated = _invoke(monkeypatch, empty_sqlite, "migrate")
    assert migrated.exit_code == 0, migrated.stderr
    created = _invoke(monkeypatch, empty_sqlite, *create)
    assert created.exit_code == 0, created.stderr
    assert created.stdout.endswith(")\n") and "created user ada@example.com (usr_" in created.stdout
    assert _user_count(empty_sqlite) == 1


@pytest.fixture
def one_revision_behind(database_url: str) -> Iterator[tuple[str, list[str]]]:
    """The migrated test database with ``alembic_version`` stamped one revision before head,
    and the versions it then holds; stamped back to head afterwards (the PostgreSQL database
    is shared by the run)."""
    config = alembic_config(database_url)
    head = ScriptDirectory.from_config(config).get_revision("head")
    assert head is not None
    previous = head.down_revision
    assert previous is None or isinstance(previous, str)  # one line of revisions
    command.stamp(config, previous or "base")
    yield database_url, [previous] if previous else []
    command.stamp(config, "head")


@pytest.mark.parametrize("args", [["orgs", "list"], DATA_COMMANDS[0]], ids=["read", "write"])
def test_a_database_one_revision_behind_is_refused_and_left_alone(
    monkeypatch: pytest.MonkeyPatch, one_revision_behind: tuple[str, list[str]], args: list[str]
) -> None:
    database_url, versions = one_revision_behind
    _refused(_invoke(monkeypatch, database_url, *args))
    assert _user_count(database_url) == 0
    engine = sa.create_engine(_sync(database_url))
    with engine.connect() as conn:
        stamped = conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalars()
        assert stamped.all() == versions
    engine.dispose()


def test_demo_migrates_an_empty_database_then_seeds_it(
    monkeypatch: pytest.MonkeyPatch, empty_sqlite: str
) -> None:
    served: list[int] = []
    monkeypatch.setattr(
        "i18n_connect.demo_partner.serve_demo", lambda host, port, partner: served.append(port)
    )
    monkeypatch.setattr("i18n_connect.demo_partner.load_partner_app", lambda *_: None)
    result = _invoke(monkeypatch, empty_sqlite, "demo", "--port", "8123")
    assert result.exit_code == 0, result.stderr
    assert DEMO_EMAIL in result.stdout and served == [8123]
    listed = _invoke(monkeypatch, empty_sqlite, "orgs", "list")  # the schema is at head now
    assert listed.exit_code == 0 and "acme" in listed.stdout
