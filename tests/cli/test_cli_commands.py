"""The command line (SPEC §7) on both backends: each command, its ``--json`` shape, and
its failures — exit status 1 and exactly one ``error: …`` line, never a traceback."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from click.testing import Result

from i18n_connect.cli import output
from i18n_connect.ids import SecretHasher
from i18n_connect.settings import Settings
from i18n_connect.storage.oauth_tables import grants, oauth_clients
from i18n_connect.storage.tables import memberships, organizations, users

Invoke = Callable[..., Result]
ISO_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def ok_json(result: Result) -> dict[str, Any]:
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


def failed(result: Result, message: str) -> None:
    """Exit status 1, nothing on stdout, and exactly ``error: <message>`` on stderr, in the one
    error style: lower-case start, no full stop at the end."""
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"error: {message}\n"
    assert not re.match(r"[A-Z]([a-z]|\s)", message) and not message.endswith(".")


def count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def insert_grant(
    engine: sa.Engine, grant_id: str, user_id: str, client_id: str, org_id: str, scope: str
) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(grants).values(
                id=grant_id,
                user_id=user_id,
                client_id=client_id,
                organization_id=org_id,
                scope=scope,
                created_at=sa.func.now(),
                updated_at=sa.func.now(),
            )
        )


def make_user(cli: Invoke, email: str) -> dict[str, Any]:
    return ok_json(cli("users", "create", "--email", email, "--password", "pass-word-1", "--json"))


def make_org(cli: Invoke, slug: str, owner: str) -> dict[str, Any]:
    return ok_json(
        cli("orgs", "create", "--slug", slug, "--name", slug.title(), "--owner", owner, "--json")
    )


def test_users_create_prints_the_user_as_json(cli: Invoke, sync_db: sa.Engine) -> None:
    data = make_user(cli, " Ada@Example.com ")
    assert set(data) == {"id", "email", "name", "created_at"}
    assert data["id"].startswith("usr_")
    assert (data["email"], data["name"]) == ("ada@example.com", "ada")
    assert ISO_UTC.fullmatch(data["created_at"])
    with sync_db.connect() as conn:
        stored = conn.execute(sa.select(users.c.email, users.c.password_hash)).one()
    assert stored.email == "ada@example.com"
    assert stored.password_hash.startswith("$argon2id$")


def test_users_create_asks_twice_for_a_missing_password_on_a_terminal(
    cli: Invoke, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(output, "on_terminal", lambda: True)
    result = cli(
        "users",
        "create",
        "--email",
        "bob@example.com",
        "--name",
        "Bob B",
        input="pass-word-1\npass-word-1\n",
    )
    assert result.exit_code == 0, result.stderr
    assert re.search(r"created user bob@example\.com \(usr_[0-9a-f]+\)\n$", result.stdout)
    assert "pass-word-1" not in result.stdout


def test_users_create_reads_one_line_with_password_stdin(cli: Invoke, sync_db: sa.Engine) -> None:
    data = ok_json(
        cli(
            "users",
            "create",
            "--email",
            "bob@example.com",
            "--password-stdin",
            "--json",
            input="pass word 1\nignored\n",
        )
    )
    assert data["email"] == "bob@example.com"
    assert "pass word 1" not in json.dumps(data)
    with sync_db.connect() as conn:
        stored = conn.execute(sa.select(users.c.email, users.c.password_hash)).one()
    assert stored.email == "bob@example.com"
    assert PasswordHasher().verify(stored.password_hash, "pass word 1")


@pytest.mark.parametrize(
    ("arguments", "stdin", "message"),
    [
        ([], "pass-word-1\n", "no terminal to ask for the password on: use --password-stdin"),
        (["--password-stdin"], "", "no password on standard input: write it as its first line"),
        (["--password-stdin"], "\n", "no password on standard input: write it as its first line"),
        (
            ["--password-stdin", "--password", "pass-word-1"],
            "pass-word-1\n",
            "give the password with --password or --password-stdin, not both",
        ),
    ],
    ids=["piped-without-flag", "empty-stdin", "empty-line", "both"],
)
def test_users_create_without_a_usable_password_fails_with_one_line(
    cli: Invoke, sync_db: sa.Engine, arguments: list[str], stdin: str, message: str
) -> None:
    failed(cli("users", "create", "--email", "bob@example.com", *arguments, input=stdin), message)
    assert count(sync_db, users) == 0


def test_piping_a_password_in_a_real_process_warns_of_nothing(
    settings: Settings, tmp_path: Path
) -> None:
    """A real pipe (not the test runner's): no GetPassWarning, no "Aborted"."""
    assert settings.secret_key is not None
    environment = {
        **os.environ,
        "I18N_CONNECT_DATABASE_URL": settings.database_url,
        "I18N_CONNECT_SECRET_KEY": settings.secret_key.get_secret_value(),
    }
    executable = Path(sys.executable).with_name("i18n-connect")

    def create(email: str, *flags: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(executable), "users", "create", "--email", email, *flags],
            input="pass-word-1\n",
            capture_output=True,
            text=True,
            env=environment,
            cwd=tmp_path,
            timeout=60,
        )

    piped = create("ada@example.com", "--password-stdin")
    assert (piped.returncode, piped.stderr) == (0, "")
    assert piped.stdout.startswith("created user ada@example.com (usr_")
    unflagged = create("bob@example.com")
    assert (unflagged.returncode, unflagged.stdout) == (1, "")
    assert unflagged.stderr == (
        "error: no terminal to ask for the password on: use --password-stdin\n"
    )


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--email", "not-an-email"], "not a valid email address: 'not-an-email'"),
        (
            ["--email", "a@example.com", "--password", "short"],
            "the password must be at least 8 characters long",
        ),
    ],
    ids=["bad-email", "short-password"],
)
def test_users_create_refuses_bad_input(
    cli: Invoke, sync_db: sa.Engine, arguments: list[str], message: str
) -> None:
    if "--password" not in arguments:
        arguments = [*arguments, "--password", "pass-word-1"]
    failed(cli("users", "create", *arguments), message)
    assert count(sync_db, users) == 0


def test_duplicate_email_fails_with_one_line(cli: Invoke, sync_db: sa.Engine) -> None:
    make_user(cli, "ada@example.com")
    failed(
        cli("users", "create", "--email", "ADA@example.com", "--password", "pass-word-2"),
        "a user with the email ada@example.com already exists",
    )
    assert count(sync_db, users) == 1


def test_orgs_create_makes_the_owner_and_prints_json(cli: Invoke, sync_db: sa.Engine) -> None:
    user = make_user(cli, "ada@example.com")
    org = make_org(cli, "acme", "ada@example.com")
    assert set(org) == {"id", "slug", "name", "created_at"}
    assert org["id"].startswith("org_")
    assert (org["slug"], org["name"]) == ("acme", "Acme")
    with sync_db.connect() as conn:
        member = conn.execute(sa.select(memberships)).one()
    assert (member.organization_id, member.user_id, member.role) == (org["id"], user["id"], "owner")


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--slug", "acme", "--owner", "nobody@example.com"],
            "no user with the email nobody@example.com",
        ),
        (
            ["--slug", "Acme Inc", "--owner", "ada@example.com"],
            "the slug 'Acme Inc' must be 2-64 lowercase letters, digits or hyphens, "
            "starting and ending with a letter or digit",
        ),
        (
            ["--slug", "taken", "--owner", "ada@example.com"],
            "an organization with the slug 'taken' already exists",
        ),
    ],
    ids=["unknown-owner", "bad-slug", "duplicate-slug"],
)
def test_orgs_create_refuses_bad_input(
    cli: Invoke, sync_db: sa.Engine, arguments: list[str], message: str
) -> None:
    make_user(cli, "ada@example.com")
    make_org(cli, "taken", "ada@example.com")
    failed(cli("orgs", "create", "--name", "Acme", *arguments), message)
    assert count(sync_db, organizations) == 1


def test_membership_commands_add_change_and_remove(cli: Invoke, sync_db: sa.Engine) -> None:
    make_user(cli, "ada@example.com")
    bob = make_user(cli, "bob@example.com")
    org = make_org(cli, "acme", "ada@example.com")
    added = ok_json(
        cli(
            "orgs",
            "add-member",
            "--org",
            "acme",
            "--email",
            "bob@example.com",
            "--role",
            "admin",
            "--json",
        )
    )
    assert added == {
        "organization": "acme",
        "organization_id": org["id"],
        "email": "bob@example.com",
        "user_id": bob["id"],
        "role": "admin",
    }
    changed = cli(
        "orgs", "set-role", "--org", "acme", "--email", "bob@example.com", "--role", "member"
    )
    assert changed.exit_code == 0
    assert changed.stdout == "bob@example.com is now member of acme\n"
    removed = ok_json(
        cli("orgs", "remove-member", "--org", "acme", "--email", "bob@example.com", "--json")
    )
    assert removed == {**added, "role": None}
    assert count(sync_db, memberships) == 1


def test_removing_a_member_from_the_cli_revokes_their_grants(
    cli: Invoke, sync_db: sa.Engine
) -> None:
    make_user(cli, "ada@example.com")
    bob = make_user(cli, "bob@example.com")
    org = make_org(cli, "acme", "ada@example.com")
    cli("orgs", "add-member", "--org", "acme", "--email", "bob@example.com", "--role", "admin")
    client = ok_json(
        cli(
            "clients",
            "create",
            "--name",
            "App",
            "--redirect-uri",
            "https://app.example/cb",
            "--json",
        )
    )
    insert_grant(sync_db, "grt_cli", bob["id"], client["client_id"], org["id"], "org:read")
    result = cli("orgs", "remove-member", "--org", "acme", "--email", "bob@example.com")
    assert result.stdout == "bob@example.com is no longer a member of acme\n"
    with sync_db.connect() as conn:
        grant = conn.execute(sa.select(grants.c.revoked_at, grants.c.revoked_by)).one()
    assert grant.revoked_at is not None
    assert grant.revoked_by == "cli"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["add-member", "--org", "nope", "--email", "bob@example.com", "--role", "admin"],
            "no organization with the slug 'nope'",
        ),
        (
            ["add-member", "--org", "acme", "--email", "bob@example.com", "--role", "boss"],
            "unknown role 'boss': use one of owner, admin, member",
        ),
        (
            ["add-member", "--org", "acme", "--email", "ada@example.com", "--role", "admin"],
            "ada@example.com is already owner of acme: "
            "change the role with 'i18n-connect orgs set-role'",
        ),
        (
            ["add-member", "--org", "acme", "--email", "eve@example.com", "--role", "admin"],
            "no user with the email eve@example.com",
        ),
        (
            ["set-role", "--org", "acme", "--email", "ada@example.com", "--role", "member"],
            "an organization must keep at least one owner",
        ),
        (
            ["set-role", "--org", "acme", "--email", "bob@example.com", "--role", "admin"],
            "the user is not a member of this organization",
        ),
        (
            ["remove-member", "--org", "acme", "--email", "ada@example.com"],
            "an organization must keep at least one owner",
        ),
        (
            ["remove-member", "--org", "nope", "--email", "ada@example.com"],
            "no organization with the slug 'nope'",
        ),
    ],
    ids=[
        "unknown-org",
        "bad-role",
        "already-member",
        "unknown-email",
        "demote-last-owner",
        "not-a-member",
        "remove-last-owner",
        "remove-unknown-org",
    ],
)
def test_membership_commands_refuse_bad_input(
    cli: Invoke, sync_db: sa.Engine, arguments: list[str], message: str
) -> None:
    make_user(cli, "ada@example.com")
    make_user(cli, "bob@example.com")
    make_org(cli, "acme", "ada@example.com")
    failed(cli("orgs", *arguments), message)
    with sync_db.connect() as conn:
        assert conn.execute(sa.select(memberships.c.role)).scalars().all() == ["owner"]


def test_orgs_list_prints_every_organization(cli: Invoke) -> None:
    assert ok_json(cli("orgs", "list", "--json")) == {"organizations": []}
    assert cli("orgs", "list").stdout == "no organizations yet\n"
    make_user(cli, "ada@example.com")
    make_user(cli, "bob@example.com")
    globex = make_org(cli, "globex", "ada@example.com")
    acme = make_org(cli, "acme", "bob@example.com")
    cli("orgs", "add-member", "--org", "acme", "--email", "ada@example.com", "--role", "member")
    listed = ok_json(cli("orgs", "list", "--json"))
    assert listed == {"organizations": [{**acme, "members": 2}, {**globex, "members": 1}]}
    text = cli("orgs", "list").stdout.splitlines()
    assert text[0].split() == ["SLUG", "MEMBERS", "ID", "NAME"]
    assert text[1].split() == ["acme", "2", acme["id"], "Acme"]
    assert text[2].split() == ["globex", "1", globex["id"], "Globex"]


def test_orgs_members_lists_roles(cli: Invoke) -> None:
    ada = make_user(cli, "ada@example.com")
    bob = make_user(cli, "bob@example.com")
    org = make_org(cli, "acme", "ada@example.com")
    cli("orgs", "add-member", "--org", "acme", "--email", "bob@example.com", "--role", "admin")
    listed = ok_json(cli("orgs", "members", "--org", "acme", "--json"))
    assert {key: listed[key] for key in org} == org
    assert [(m["user_id"], m["email"], m["role"]) for m in listed["members"]] == [
        (ada["id"], "ada@example.com", "owner"),
        (bob["id"], "bob@example.com", "admin"),
    ]
    assert all(ISO_UTC.fullmatch(m["joined_at"]) for m in listed["members"])
    text = cli("orgs", "members", "--org", "acme").stdout.splitlines()
    assert [line.split()[:2] for line in text] == [
        ["ROLE", "EMAIL"],
        ["owner", "ada@example.com"],
        ["admin", "bob@example.com"],
    ]
    failed(cli("orgs", "members", "--org", "nope"), "no organization with the slug 'nope'")


def test_public_client_has_no_secret(cli: Invoke, sync_db: sa.Engine) -> None:
    data = ok_json(
        cli(
            "clients",
            "create",
            "--name",
            "IDE plugin",
            "--redirect-uri",
            "http://127.0.0.1:8001/connect/callback",
            "--redirect-uri",
            "cursor://callback",
            "--json",
        )
    )
    assert set(data) == {
        "client_id",
        "client_secret",
        "name",
        "redirect_uris",
        "token_endpoint_auth_method",
        "scope",
        "created_at",
    }
    assert data["client_id"].startswith("cli_")
    assert data["client_secret"] is None
    assert data["redirect_uris"] == ["http://127.0.0.1:8001/connect/callback", "cursor://callback"]
    assert (data["token_endpoint_auth_method"], data["scope"]) == ("none", None)
    with sync_db.connect() as conn:
        row = conn.execute(sa.select(oauth_clients)).one()
    assert (row.id, row.secret_hash, row.origin) == (data["client_id"], None, "cli")


def test_confidential_client_secret_is_printed_once_and_stored_hashed(
    cli: Invoke, sync_db: sa.Engine, settings: Settings
) -> None:
    result = cli(
        "clients",
        "create",
        "--name",
        "Server app",
        "--confidential",
        "--redirect-uri",
        "https://app.example/callback",
        "--scope",
        "keys:read org:read",
    )
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    client_id = lines[0].removeprefix("client_id: ")
    secret = lines[1].removeprefix("client_secret: ")
    assert secret.startswith("cs_")
    assert "shown only now" in lines[2]
    with sync_db.connect() as conn:
        row = conn.execute(sa.select(oauth_clients)).one()
    assert row.id == client_id
    assert (row.token_endpoint_auth_method, row.scope) == (
        "client_secret_basic",
        "org:read keys:read",
    )
    hasher = SecretHasher(settings.derived_key("secret-hash"))
    assert row.secret_hash == hasher.hash(secret)
    assert secret not in str(tuple(row))


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--redirect-uri", "http://app.example/cb"],
            "an http redirect URI is only allowed on 127.0.0.1, [::1] or localhost; use https",
        ),
        (
            ["--redirect-uri", "https://app.example/cb#frag"],
            "a redirect URI may not contain a fragment",
        ),
        (
            ["--redirect-uri", "javascript:alert(1)"],
            "the scheme javascript: is not allowed in a redirect URI",
        ),
        (
            ["--redirect-uri", "https://app.example/cb", "--scope", "admin:all"],
            "unknown scope: admin:all",
        ),
    ],
    ids=["http-not-loopback", "fragment", "javascript", "unknown-scope"],
)
def test_clients_create_refuses_bad_input(
    cli: Invoke, sync_db: sa.Engine, arguments: list[str], message: str
) -> None:
    failed(cli("clients", "create", "--name", "App", *arguments), message)
    assert count(sync_db, oauth_clients) == 0


def test_clients_create_refuses_a_name_with_a_bidi_override(
    cli: Invoke, sync_db: sa.Engine
) -> None:
    result = cli(
        "clients", "create", "--name", "App \u202eevil", "--redirect-uri", "https://app.example/cb"
    )
    failed(
        result,
        "the client name may not contain control or bidirectional formatting characters (U+202E)",
    )
    assert count(sync_db, oauth_clients) == 0


@pytest.mark.parametrize(
    ("message", "line"),
    [
        ("The name is bad.", "error: the name is bad"),
        ("A public client has no secret.", "error: a public client has no secret"),
        ("PKCE is required.", "error: PKCE is required"),
        ("I18N_CONNECT_PORT: Input should be ≥ 1", "error: I18N_CONNECT_PORT: Input should be ≥ 1"),
        ("not deleted", "error: not deleted"),
        ("wait...", "error: wait..."),
    ],
)
def test_every_error_line_has_one_style(message: str, line: str) -> None:
    assert output.error_line(message) == line


def test_a_missing_option_is_a_usage_error_without_a_traceback(cli: Invoke) -> None:
    result = cli("orgs", "create", "--name", "Acme")
    assert result.exit_code == 2
    assert "Missing option '--slug'" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_users_list_prints_every_user_oldest_first(cli: Invoke) -> None:
    assert ok_json(cli("users", "list", "--json")) == {"users": []}
    assert cli("users", "list").stdout == "no users yet\n"
    ada = make_user(cli, "ada@example.com")
    bob = make_user(cli, "bob@example.com")
    assert ok_json(cli("users", "list", "--json")) == {"users": [ada, bob]}
    text = cli("users", "list").stdout.splitlines()
    assert text[0].split() == ["EMAIL", "ID", "CREATED", "NAME"]
    assert text[1].split() == ["ada@example.com", ada["id"], ada["created_at"], "ada"]
    assert text[2].split() == ["bob@example.com", bob["id"], bob["created_at"], "bob"]


def test_grants_list_names_the_app(cli: Invoke, sync_db: sa.Engine) -> None:
    ada = make_user(cli, "ada@example.com")
    org = make_org(cli, "acme", "ada@example.com")
    client = ok_json(
        cli(
            "clients",
            "create",
            "--name",
            "Example Partner App",
            "--redirect-uri",
            "https://app.example/cb",
            "--json",
        )
    )
    scope = "org:read projects:read"
    insert_grant(sync_db, "grt_listed", ada["id"], client["client_id"], org["id"], scope)
    (row,) = ok_json(cli("grants", "list", "--json"))["grants"]
    assert (row["id"], row["client_id"], row["client_name"], row["organization"]) == (
        "grt_listed",
        client["client_id"],
        "Example Partner App",
        "acme",
    )
    header, line = cli("grants", "list").stdout.splitlines()
    assert header.split() == ["ID", "ORGANIZATION", "USER", "APP", "CLIENT", "SCOPE"]
    assert "Example Partner App" in line
    assert line.split()[:3] == ["grt_listed", "acme", "ada@example.com"]
