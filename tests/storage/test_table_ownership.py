"""The storage seam: each table is imported by one storage module, its owner, and nowhere else
in the package (besides the table definitions and the migrations)."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

import i18n_connect

PACKAGE = Path(i18n_connect.__file__).parent
TABLE_MODULES = {"i18n_connect.storage.tables", "i18n_connect.storage.oauth_tables"}
DEFINITIONS = ("storage/tables.py", "storage/oauth_tables.py", "storage/migrations/")

OWNERS = {
    "organizations": "storage/organizations.py",
    "memberships": "storage/organizations.py",
    "organization_policies": "storage/policies.py",
    "organization_app_lists": "storage/policies.py",
    "connection_requests": "storage/connection_requests.py",
    "projects": "storage/projects.py",
    "project_languages": "storage/projects.py",
    "translations": "storage/translations.py",
    "glossary_terms": "storage/glossary.py",
    "content_models": "storage/content.py",
    "content_entries": "storage/content.py",
    "audit_events": "storage/audit.py",
    "rate_counters": "storage/counters.py",
    "idempotency_keys": "storage/idempotency_keys.py",
    "oauth_clients": "storage/clients.py",
    "grants": "storage/grants.py",
    "refresh_chains": "storage/grants.py",
    "refresh_tokens": "storage/grants.py",
    "installation_tokens": "storage/grants.py",
    "authorization_codes": "storage/codes.py",
    "users": "storage/users.py",
    "translation_keys": "storage/translations.py",
    "browser_sessions": "storage/sessions.py",
    "authorization_requests": "storage/authorization_requests.py",
    "device_authorizations": "storage/device_authorizations.py",
    "signing_keys": "storage/signing_keys.py",
    "client_profiles": "storage/client_profiles.py",
    "client_logos": "storage/client_profiles.py",
    "webhook_endpoints": "storage/webhooks.py",
    "webhook_events": "storage/webhooks.py",
    "webhook_deliveries": "storage/webhooks.py",
}
# Readers that still use a table directly; each entry goes when its module calls the owner.
NOT_YET_MOVED = {
    "oauth_clients": {"oauth/metadata_documents.py", "gc.py", "demo.py"},
}
# Owners that join another owner's table inside one hot-path statement, where calling that
# owner would cost a second round trip.
JOINED = {
    # the refresh token's lookup, for the user's role; the site header's request counts (with
    # the policy and the slug), read only
    "memberships": {"storage/grants.py", "storage/connection_requests.py"},
    "users": {"storage/organizations.py"},  # the member list, read only
    "organization_policies": {"storage/connection_requests.py"},
    "organizations": {"storage/connection_requests.py"},
}


def _absolute(module: str, node: ast.ImportFrom) -> str:
    """The absolute module name of a (possibly relative) ``from … import``."""
    if not node.level:
        return node.module or ""
    base = module.split(".")[: -node.level]
    return ".".join([*base, *([node.module] if node.module else [])])


def imported_tables(source: str, module: str) -> set[str]:
    """The names ``source`` takes from a table module: imported by name, or read as an attribute
    of the table module imported whole."""
    tree = ast.parse(source)
    found: set[str] = set()
    aliases: set[str] = set()  # names bound to a table module
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            origin = _absolute(module, node)
            for alias in node.names:
                if origin in TABLE_MODULES:
                    found.add(alias.name)
                elif f"{origin}.{alias.name}" in TABLE_MODULES:
                    aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            aliases.update(
                alias.asname or alias.name for alias in node.names if alias.name in TABLE_MODULES
            )
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and ast.unparse(node.value) in aliases:
            found.add(node.attr)
    return found


def package_modules() -> Iterator[tuple[str, str]]:
    """(path relative to the package, source) of every module but the table definitions."""
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE).as_posix()
        if not relative.startswith(DEFINITIONS):
            yield relative, path.read_text(encoding="utf-8")


def importers() -> dict[str, set[str]]:
    """Table name → the modules that import it."""
    found: dict[str, set[str]] = {}
    for relative, source in package_modules():
        module = "i18n_connect." + relative.removesuffix(".py").replace("/", ".")
        for table in imported_tables(source, module):
            found.setdefault(table, set()).add(relative)
    return found


@pytest.mark.parametrize("table", sorted(OWNERS))
def test_only_the_owner_imports_a_table(table: str) -> None:
    readers = importers().get(table, set())
    assert OWNERS[table] in readers, f"{OWNERS[table]} no longer owns {table}"
    allowed = {OWNERS[table], *NOT_YET_MOVED.get(table, set()), *JOINED.get(table, set())}
    strangers = readers - allowed
    assert not strangers, f"{table} belongs to {OWNERS[table]}; also imported by {strangers}"


@pytest.mark.parametrize(
    "source",
    [
        "from i18n_connect.storage.tables import projects",
        "from i18n_connect.storage.tables import projects as project_rows",
        "from i18n_connect.storage import tables\ntables.projects.c.id",
        "from i18n_connect.storage import tables as t\nt.projects",
        "import i18n_connect.storage.tables\ni18n_connect.storage.tables.projects",
        "import i18n_connect.storage.tables as t\nt.projects",
        "from ..storage.tables import projects",
        "from ..storage import tables\ntables.projects",
    ],
)
def test_every_way_of_importing_a_table_is_seen(source: str) -> None:
    assert "projects" in imported_tables(source, "i18n_connect.platform.somewhere")


def test_a_name_that_is_not_a_table_import_is_not_counted() -> None:
    source = "from i18n_connect.storage import projects\nprojects.get_project\nprojects = 1"
    assert imported_tables(source, "i18n_connect.platform.somewhere") == set()
