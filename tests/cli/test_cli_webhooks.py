"""``i18n-connect webhooks``: add, list, rotate, disable, enable, deliveries, redeliver and
delete, with --json, and one ``error: …`` line for each failure."""

from __future__ import annotations

import json

import pytest
from test_cli_commands import Invoke

URI = "https://partner.example/callback"
HOOK = "https://hooks.example.com/i18n"


def _client(cli: Invoke) -> str:
    result = cli("clients", "create", "--name", "App", "--redirect-uri", URI, "--json")
    client_id: str = json.loads(result.stdout)["client_id"]
    return client_id


def test_an_endpoints_life_on_the_command_line(cli: Invoke) -> None:
    client_id = _client(cli)
    added = cli("webhooks", "add", client_id, HOOK, "--event", "grant.revoked", "--json")
    assert added.exit_code == 0, added.stderr
    endpoint = json.loads(added.stdout)
    assert endpoint["secret"].startswith("whsec_")
    listed = json.loads(cli("webhooks", "list", client_id, "--json").stdout)["endpoints"]
    assert [(e["id"], e["event_types"]) for e in listed] == [(endpoint["id"], ["grant.revoked"])]
    assert "secret" not in listed[0]
    rotated = json.loads(
        cli("webhooks", "rotate-secret", client_id, endpoint["id"], "--json").stdout
    )
    assert rotated["secret"] not in (endpoint["secret"], None)
    disabled = cli("webhooks", "disable", client_id, endpoint["id"], "--json")
    assert json.loads(disabled.stdout)["status"] == "disabled"
    enabled = cli("webhooks", "enable", client_id, endpoint["id"], "--json")
    assert json.loads(enabled.stdout)["status"] == "active"
    assert json.loads(cli("webhooks", "deliveries", client_id, "--json").stdout) == {
        "deliveries": []
    }
    assert cli("webhooks", "delete", client_id, endpoint["id"]).stdout == (
        f"deleted {endpoint['id']}\n"
    )
    assert cli("webhooks", "list", client_id).stdout == "no endpoints\n"


@pytest.mark.parametrize(
    ("args", "error"),
    [
        (
            ("add", "{client}", "http://hooks.example.com/x", "--event", "grant.revoked"),
            "error: url must be an https URL\n",
        ),
        (
            ("add", "{client}", HOOK, "--event", "grant.nope"),
            "error: unknown event type: grant.nope. Known: grant.created, grant.updated, "
            "grant.revoked, installation_token.revoked, translations.published, keys.changed, "
            "content.published\n",
        ),
        (
            ("add", "cli_unknown", HOOK, "--event", "grant.revoked"),
            "error: no client with the id 'cli_unknown'\n",
        ),
        (("enable", "{client}", "whe_nope"), "error: no such webhook endpoint\n"),
        (("rotate-secret", "{client}", "whe_nope"), "error: no such webhook endpoint\n"),
        (("redeliver", "{client}", "whd_nope"), "error: no such webhook delivery\n"),
    ],
    ids=[
        "http",
        "unknown-event",
        "unknown-client",
        "unknown-endpoint",
        "rotate-unknown",
        "redeliver-unknown",
    ],
)
def test_bad_webhook_commands_fail_in_one_line(
    cli: Invoke, args: tuple[str, ...], error: str
) -> None:
    client_id = _client(cli)
    result = cli("webhooks", *(arg.replace("{client}", client_id) for arg in args))
    assert (result.exit_code, result.stderr) == (1, error)
