"""``i18n-connect audit tail``: the newest audit events, filtered by grant or organization."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from click.testing import Result

from i18n_connect.storage.oauth_tables import oauth_clients
from i18n_connect.storage.tables import audit_events, organizations, projects, users

Invoke = Callable[..., Result]
T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def quiet_migrations() -> Iterator[None]:
    """Keep migration log lines out of the command's output even when an app test earlier in
    this process sent log records to stdout."""
    logger = logging.getLogger("alembic")
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


def _seed(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.insert(organizations).values(id="org_a", slug="acme", name="Acme", created_at=T0)
        )
        for minute, (action, grant, org) in enumerate(
            [
                ("grant.consented", "grt_1", "org_a"),
                ("installation_token.minted", "grt_1", "org_a"),
                ("grant.consented", "grt_2", "org_b"),
                ("grant.revoked", "grt_1", "org_a"),
            ]
        ):
            conn.execute(
                sa.insert(audit_events).values(
                    occurred_at=T0 + timedelta(minutes=minute),
                    action=action,
                    actor="cli_partner",
                    grant_id=grant,
                    organization_id=org,
                    detail={"reason": "test"} if action == "grant.revoked" else {},
                )
            )


def test_audit_tail_prints_the_newest_events_oldest_first(cli: Invoke, sync_db: sa.Engine) -> None:
    _seed(sync_db)
    result = cli("audit", "tail", "--json")
    assert result.exit_code == 0, result.output
    events = json.loads(result.output)["events"]
    assert [e["action"] for e in events] == [
        "grant.consented",
        "installation_token.minted",
        "grant.consented",
        "grant.revoked",
    ]
    assert events[-1] | {"id": 0} == {
        "id": 0,
        "occurred_at": "2026-01-01T12:03:00Z",
        "action": "grant.revoked",
        "actor": "cli_partner",
        "user_id": None,
        "client_id": None,
        "organization_id": "org_a",
        "grant_id": "grt_1",
        "detail": {"reason": "test"},
    }
    text = cli("audit", "tail", "--limit", "1")
    assert text.exit_code == 0
    assert text.output.splitlines() == [
        '2026-01-01T12:03:00Z  grant.revoked                actor="cli_partner" '
        'organization="acme" grant_id=grt_1 {"reason": "test"}'
    ]


def test_audit_tail_filters_by_grant_and_organization(cli: Invoke, sync_db: sa.Engine) -> None:
    _seed(sync_db)
    by_grant = json.loads(cli("audit", "tail", "--grant", "grt_2", "--json").output)["events"]
    assert [(e["grant_id"], e["action"]) for e in by_grant] == [("grt_2", "grant.consented")]
    by_org = json.loads(cli("audit", "tail", "--org", "acme", "--limit", "2", "--json").output)
    assert [e["action"] for e in by_org["events"]] == ["installation_token.minted", "grant.revoked"]


def test_audit_tail_refuses_an_unknown_organization_and_bad_limits(cli: Invoke) -> None:
    unknown = cli("audit", "tail", "--org", "nope")
    assert unknown.exit_code == 1
    assert unknown.output.startswith("error: ")
    assert cli("audit", "tail", "--limit", "0").exit_code == 2
    empty = cli("audit", "tail")
    assert (empty.exit_code, empty.output.strip()) == (0, "no audit events")


def test_audit_tail_names_users_apps_and_organizations_and_json_keeps_the_ids(
    cli: Invoke, sync_db: sa.Engine
) -> None:
    _seed(sync_db)
    with sync_db.begin() as conn:
        conn.execute(
            sa.insert(users).values(
                id="usr_a", email="ada@example.com", name="Ada", password_hash="-", created_at=T0
            )
        )
        conn.execute(
            sa.insert(oauth_clients).values(
                id="cli_a",
                name="Lingo Sync",
                token_endpoint_auth_method="none",
                redirect_uris=["https://lingo.example/cb"],
                origin="cli",
                verified=True,
                created_at=T0,
            )
        )
        conn.execute(
            sa.insert(audit_events).values(
                occurred_at=T0 + timedelta(minutes=9),
                action="policy.app_blocked",
                actor="usr_a",
                user_id="usr_a",
                client_id="cli_a",
                organization_id="org_a",
                detail={"grants_revoked": 2},
            )
        )
    text = cli("audit", "tail", "--limit", "1")
    assert text.output.splitlines() == [
        '2026-01-01T12:09:00Z  policy.app_blocked           actor="ada@example.com" '
        'user="ada@example.com" app="Lingo Sync" organization="acme" {"grants_revoked": 2}'
    ]
    (event,) = json.loads(cli("audit", "tail", "--limit", "1", "--json").output)["events"]
    assert (event["actor"], event["user_id"], event["client_id"], event["organization_id"]) == (
        "usr_a",
        "usr_a",
        "cli_a",
        "org_a",
    )


def test_orgs_create_and_every_membership_command_show_in_audit_tail_with_names(
    cli: Invoke, sync_db: sa.Engine
) -> None:
    def ok(*args: str) -> str:
        result = cli(*args)
        assert result.exit_code == 0, result.stderr
        return result.stdout

    ada = json.loads(
        ok("users", "create", "--email", "ada@example.com", "--password", "pw-1x1x1x", "--json")
    )
    bob = json.loads(
        ok("users", "create", "--email", "bob@example.com", "--password", "pw-1x1x1x", "--json")
    )
    org = json.loads(
        ok(
            "orgs",
            "create",
            "--slug",
            "acme",
            "--name",
            "Acme",
            "--owner",
            "ada@example.com",
            "--json",
        )
    )
    ok("orgs", "add-member", "--org", "acme", "--email", "bob@example.com", "--role", "member")
    ok("orgs", "set-role", "--org", "acme", "--email", "bob@example.com", "--role", "admin")
    ok("orgs", "remove-member", "--org", "acme", "--email", "bob@example.com")
    # a refused command records nothing
    refused = cli("orgs", "remove-member", "--org", "acme", "--email", "ada@example.com")
    assert (refused.exit_code, refused.stderr) == (
        1,
        "error: an organization must keep at least one owner\n",
    )

    lines = [line.split("  ", 1)[1] for line in ok("audit", "tail", "--org", "acme").splitlines()]
    assert lines == [
        'organization.created         actor="cli" user="ada@example.com" organization="acme" '
        '{"name": "Acme", "role": "owner", "slug": "acme"}',
        'membership.added             actor="cli" user="bob@example.com" organization="acme" '
        '{"role": "member"}',
        'membership.role_changed      actor="cli" user="bob@example.com" organization="acme" '
        '{"from": "member", "to": "admin"}',
        'membership.removed           actor="cli" user="bob@example.com" organization="acme" '
        '{"role": "admin"}',
    ]
    events = json.loads(ok("audit", "tail", "--org", "acme", "--json"))["events"]
    assert [(e["action"], e["actor"], e["user_id"], e["organization_id"]) for e in events] == [
        ("organization.created", "cli", ada["id"], org["id"]),
        ("membership.added", "cli", bob["id"], org["id"]),
        ("membership.role_changed", "cli", bob["id"], org["id"]),
        ("membership.removed", "cli", bob["id"], org["id"]),
    ]


def test_audit_tail_names_a_deleted_app_and_a_grants_projects(
    cli: Invoke, sync_db: sa.Engine
) -> None:
    _seed(sync_db)
    with sync_db.begin() as conn:
        conn.execute(
            sa.insert(oauth_clients).values(
                id="cli_gone",
                name="Old Sync",
                token_endpoint_auth_method="none",
                redirect_uris=["https://old.example/cb"],
                origin="cli",
                verified=False,
                created_at=T0,
                deleted_at=T0,
            )
        )
        conn.execute(
            sa.insert(projects).values(
                id="prj_w",
                organization_id="org_a",
                slug="web",
                name="Website",
                source_language="en",
                created_at=T0,
            )
        )
        conn.execute(
            sa.insert(audit_events).values(
                occurred_at=T0 + timedelta(minutes=9),
                action="grant.updated",
                actor="cli",
                client_id="cli_gone",
                organization_id="org_a",
                grant_id="grt_9",
                detail={"project_ids": ["prj_w", "prj_unknown"], "previous_project_ids": None},
            )
        )
    text = cli("audit", "tail", "--limit", "1")
    assert text.output.splitlines() == [
        '2026-01-01T12:09:00Z  grant.updated                actor="cli" app="Old Sync" '
        'organization="acme" grant_id=grt_9 '
        '{"previous_project_ids": null, "project_ids": ["Website", "prj_unknown"]}'
    ]
    (event,) = json.loads(cli("audit", "tail", "--limit", "1", "--json").output)["events"]
    assert (event["client_id"], event["detail"]["project_ids"]) == (
        "cli_gone",
        ["prj_w", "prj_unknown"],
    )
