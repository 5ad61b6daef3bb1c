"""``i18n-connect clients list|show|update|rotate-secret|delete|verify`` on both backends: the
output, the state each leaves, and one ``error: …`` line for each failure."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from test_cli_commands import Invoke, count, failed, ok_json

from i18n_connect.cli import output
from i18n_connect.ids import SecretHasher
from i18n_connect.settings import Settings
from i18n_connect.storage.oauth_tables import grants, oauth_clients
from i18n_connect.storage.tables import audit_events, organizations, users

URI = "https://app.example/cb"
SHOW_KEYS = {
    "client_id",
    "name",
    "kind",
    "origin",
    "verified",
    "created_at",
    "last_used_at",
    "token_endpoint_auth_method",
    "redirect_uris",
    "scope",
    "client_uri",
    "logo_uri",
    "grants",
    "secret_rotation",
}


def create(cli: Invoke, *extra: str) -> dict[str, Any]:
    return ok_json(
        cli("clients", "create", "--name", "App", "--redirect-uri", URI, *extra, "--json")
    )


def stored(engine: sa.Engine, client_id: str) -> Any:
    with engine.connect() as conn:
        return conn.execute(sa.select(oauth_clients).where(oauth_clients.c.id == client_id)).one()


def add_grant(engine: sa.Engine, client_id: str) -> str:
    now = datetime.now(UTC)
    with engine.begin() as conn:
        conn.execute(
            sa.insert(users).values(
                id="usr_ada", email="ada@example.com", name="Ada", password_hash="x", created_at=now
            )
        )
        conn.execute(
            sa.insert(organizations).values(id="org_acme", slug="acme", name="Acme", created_at=now)
        )
        conn.execute(
            sa.insert(grants).values(
                id="grt_one",
                user_id="usr_ada",
                client_id=client_id,
                organization_id="org_acme",
                scope="org:read",
                created_at=now,
                updated_at=now,
            )
        )
    return "grt_one"


def register_self(engine: sa.Engine) -> str:
    """A client as dynamic registration stores it (unverified)."""
    with engine.begin() as conn:
        conn.execute(
            sa.insert(oauth_clients).values(
                id="cli_registered",
                name="Agent",
                token_endpoint_auth_method="none",
                redirect_uris=[URI],
                origin="registration",
                verified=False,
                created_at=datetime(2026, 1, 2, tzinfo=UTC),
            )
        )
    return "cli_registered"


def test_list_shows_kind_origin_and_verified(cli: Invoke, sync_db: sa.Engine) -> None:
    operator = create(cli, "--confidential")
    registered = register_self(sync_db)
    rows = ok_json(cli("clients", "list", "--json"))["clients"]
    assert [(r["client_id"], r["kind"], r["origin"], r["verified"]) for r in rows] == [
        (registered, "public", "registered", False),
        (operator["client_id"], "confidential", "operator", True),
    ]
    assert rows[0]["last_used_at"] is None
    text = cli("clients", "list").stdout.splitlines()
    assert text[0].split() == ["ID", "KIND", "ORIGIN", "VERIFIED", "LAST", "USED", "NAME"]
    assert text[2].split()[:5] == [
        operator["client_id"],
        "confidential",
        "operator",
        "yes",
        "never",
    ]


def test_list_without_clients(cli: Invoke) -> None:
    assert cli("clients", "list").stdout == "no clients\n"


def test_show_prints_every_field_and_the_grant_count(cli: Invoke, sync_db: sa.Engine) -> None:
    client = create(cli, "--scope", "org:read keys:read")
    add_grant(sync_db, client["client_id"])
    data = ok_json(cli("clients", "show", client["client_id"], "--json"))
    assert set(data) == SHOW_KEYS
    assert (data["redirect_uris"], data["scope"], data["grants"]) == (
        [URI],
        "org:read keys:read",
        1,
    )
    assert (data["kind"], data["secret_rotation"]) == ("public", None)
    text = cli("clients", "show", client["client_id"]).stdout
    assert f"redirect_uri: {URI}\n" in text and "grants: 1\n" in text


def test_update_replaces_redirect_uris_and_keeps_the_rest(cli: Invoke, sync_db: sa.Engine) -> None:
    client = create(cli, "--scope", "org:read")
    data = ok_json(
        cli(
            "clients",
            "update",
            client["client_id"],
            "--redirect-uri",
            "https://app.example/one",
            "--redirect-uri",
            "cursor://callback",
            "--json",
        )
    )
    assert data["redirect_uris"] == ["https://app.example/one", "cursor://callback"]
    row = stored(sync_db, client["client_id"])
    assert (row.name, row.redirect_uris, row.scope) == (
        "App",
        ["https://app.example/one", "cursor://callback"],
        "org:read",
    )
    ok_json(cli("clients", "update", client["client_id"], "--name", "New", "--scope", "", "--json"))
    row = stored(sync_db, client["client_id"])
    assert (row.name, row.scope) == ("New", None)


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["--redirect-uri", "http://app.example/cb"],
            "an http redirect URI is only allowed on 127.0.0.1, [::1] or localhost; use https",
        ),
        (["--scope", "admin:all"], "unknown scope: admin:all"),
        (["--name", " "], "the client name must be 1 to 200 characters long"),
    ],
    ids=["bad-redirect-uri", "unknown-scope", "empty-name"],
)
def test_update_refuses_bad_input_and_changes_nothing(
    cli: Invoke, sync_db: sa.Engine, arguments: list[str], message: str
) -> None:
    client = create(cli)
    failed(cli("clients", "update", client["client_id"], *arguments), message)
    row = stored(sync_db, client["client_id"])
    assert (row.name, row.redirect_uris, row.scope) == ("App", [URI], None)


@pytest.mark.parametrize(
    "command",
    [
        ["show"],
        ["update", "--name", "X"],
        ["rotate-secret"],
        ["delete", "--yes"],
        ["verify"],
    ],
)
def test_an_unknown_client_is_one_error_line(cli: Invoke, command: list[str]) -> None:
    failed(cli("clients", command[0], "cli_nope", *command[1:]), "no client with the id 'cli_nope'")


def test_rotate_secret_prints_the_new_secret_once_and_show_tells_the_grace(
    cli: Invoke, sync_db: sa.Engine, settings: Settings
) -> None:
    client = create(cli, "--confidential")
    data = ok_json(cli("clients", "rotate-secret", client["client_id"], "--grace", "2h", "--json"))
    assert data["client_secret"].startswith("cs_")
    until = datetime.fromisoformat(data["previous_secret_accepted_until"])
    assert (
        timedelta(hours=2) - timedelta(minutes=1) < until - datetime.now(UTC) <= timedelta(hours=2)
    )
    hasher = SecretHasher(settings.derived_key("secret-hash"))
    row = stored(sync_db, client["client_id"])
    assert row.secret_hash == hasher.hash(data["client_secret"])
    assert row.previous_secret_hash == hasher.hash(client["client_secret"])
    shown = ok_json(cli("clients", "show", client["client_id"], "--json"))
    assert shown["secret_rotation"] == {
        "previous_secret_accepted": True,
        "previous_secret_accepted_until": data["previous_secret_accepted_until"],
    }
    assert "previous secret: accepted until " in cli("clients", "show", client["client_id"]).stdout
    with sync_db.connect() as conn:
        actions = list(conn.scalars(sa.select(audit_events.c.action)))
    assert actions == ["client.secret_rotated"]


def test_rotate_secret_with_grace_zero_and_default_grace(cli: Invoke) -> None:
    client = create(cli, "--confidential")
    text = cli("clients", "rotate-secret", client["client_id"], "--grace", "0").stdout
    assert text.endswith("the previous secret no longer works\n")
    shown = ok_json(cli("clients", "show", client["client_id"], "--json"))
    assert shown["secret_rotation"]["previous_secret_accepted"] is False
    data = ok_json(cli("clients", "rotate-secret", client["client_id"], "--json"))
    until = datetime.fromisoformat(data["previous_secret_accepted_until"])
    assert timedelta(hours=23) < until - datetime.now(UTC) <= timedelta(hours=24)


@pytest.mark.parametrize(
    ("grace", "message"),
    [
        ("8d", "the grace period must be between 0 and 7 days"),
        ("169h", "the grace period must be between 0 and 7 days"),
        ("tomorrow", "invalid duration 'tomorrow': use e.g. 0, 30m, 24h or 7d"),
        ("-1h", "invalid duration '-1h': use e.g. 0, 30m, 24h or 7d"),
    ],
)
def test_rotate_secret_refuses_a_bad_grace(
    cli: Invoke, sync_db: sa.Engine, grace: str, message: str
) -> None:
    client = create(cli, "--confidential")
    failed(cli("clients", "rotate-secret", client["client_id"], "--grace", grace), message)
    assert stored(sync_db, client["client_id"]).previous_secret_hash is None


def test_rotate_secret_of_a_public_client_is_refused(cli: Invoke) -> None:
    client = create(cli)
    failed(
        cli("clients", "rotate-secret", client["client_id"]),
        "a public client has no secret to rotate",
    )


def test_delete_revokes_every_grant_and_hides_the_client(cli: Invoke, sync_db: sa.Engine) -> None:
    client = create(cli, "--confidential")
    grant_id = add_grant(sync_db, client["client_id"])
    data = ok_json(cli("clients", "delete", client["client_id"], "--yes", "--json"))
    assert data == {"client_id": client["client_id"], "deleted": True, "grants_revoked": 1}
    with sync_db.connect() as conn:
        grant = conn.execute(sa.select(grants).where(grants.c.id == grant_id)).one()
        actions = list(conn.scalars(sa.select(audit_events.c.action).order_by(audit_events.c.id)))
    assert grant.revoked_at is not None and grant.revoked_by == "cli"
    assert actions == ["grant.revoked", "client.deleted"]
    row = stored(sync_db, client["client_id"])
    assert row.deleted_at is not None and row.secret_hash is None
    assert ok_json(cli("clients", "list", "--json"))["clients"] == []
    failed(
        cli("clients", "show", client["client_id"]),
        f"no client with the id {client['client_id']!r}",
    )


def test_delete_without_a_terminal_needs_yes(cli: Invoke, sync_db: sa.Engine) -> None:
    client = create(cli)
    failed(
        cli("clients", "delete", client["client_id"]),
        "deleting a client needs --yes when not run on a terminal",
    )
    assert stored(sync_db, client["client_id"]).deleted_at is None


@pytest.mark.parametrize(("answer", "deleted"), [("y\n", True), ("n\n", False)])
def test_delete_on_a_terminal_asks(
    cli: Invoke, sync_db: sa.Engine, monkeypatch: pytest.MonkeyPatch, answer: str, deleted: bool
) -> None:
    monkeypatch.setattr(output, "on_terminal", lambda: True)
    client = create(cli)
    result = cli("clients", "delete", client["client_id"], input=answer)
    assert f"Delete App ({client['client_id']}) and revoke its 0 grant(s)?" in result.stdout
    assert result.exit_code == (0 if deleted else 1)
    if not deleted:
        assert result.stderr == "error: not deleted\n"
    assert (stored(sync_db, client["client_id"]).deleted_at is not None) is deleted
    assert count(sync_db, oauth_clients) == 1


def test_verify_and_unverify(cli: Invoke, sync_db: sa.Engine) -> None:
    client_id = register_self(sync_db)
    assert cli("clients", "verify", client_id).stdout == f"client {client_id} is verified\n"
    assert stored(sync_db, client_id).verified is True
    data = ok_json(cli("clients", "verify", client_id, "--unverify", "--json"))
    assert data["verified"] is False
    assert stored(sync_db, client_id).verified is False
    with sync_db.connect() as conn:
        actions = list(conn.scalars(sa.select(audit_events.c.action).order_by(audit_events.c.id)))
    assert actions == ["client.verified", "client.unverified"]


def test_help_of_each_command_has_an_example(cli: Invoke) -> None:
    for command in ("list", "show", "update", "rotate-secret", "delete", "verify"):
        result = cli("clients", command, "--help")
        assert result.exit_code == 0
        assert f"Example: i18n-connect clients {command}" in result.stdout


def test_create_with_device_flow_registers_the_device_code_grant(
    cli: Invoke, sync_db: sa.Engine
) -> None:
    device = create(cli, "--device-flow")
    plain = create(cli)

    assert stored(sync_db, device["client_id"]).grant_types == [
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:device_code",
    ]
    assert stored(sync_db, plain["client_id"]).grant_types is None  # the code flow's default
