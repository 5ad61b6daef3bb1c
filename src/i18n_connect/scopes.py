"""The scope catalog (SPEC §2): what each scope allows, whether consent pre-checks it,
and what a destructive one can change in production."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from i18n_connect.errors import InvalidScope

__all__ = [
    "CATALOG",
    "DEFAULT_SCOPES",
    "IGNORED_SCOPES",
    "PUBLISH_TRANSLATIONS",
    "Scope",
    "format_scope",
    "parse_scope",
]


@dataclass(frozen=True, slots=True)
class Scope:
    name: str
    title: str
    default_on: bool
    warning: str | None = None  # set for destructive scopes

    @property
    def destructive(self) -> bool:
        return self.warning is not None


_SCOPES = (
    Scope("org:read", "Read your organizations", True),
    Scope("projects:read", "Read projects and their languages", True),
    Scope(
        "projects:write",
        "Create projects and add languages",
        False,
        "Can create projects and change the languages your production apps ship.",
    ),
    Scope("keys:read", "Read translation keys", True),
    Scope(
        "keys:write",
        "Create and delete translation keys (deleting one whose text is live also needs "
        "Publish translations)",
        True,
    ),
    Scope("translations:read", "Read translations", True),
    Scope("translations:write", "Write draft translations", True),
    Scope(
        "translations:publish",
        "Publish translations",
        False,
        "Can publish translations straight to your live apps and CDN.",
    ),
    Scope("content:read", "Read content models and entries", True),
    Scope("content:write", "Write draft content entries", True),
    Scope(
        "content:publish",
        "Publish content",
        False,
        "Can publish content entries that your live sites show.",
    ),
    Scope("glossary:read", "Read the glossary", True),
    Scope(
        "glossary:write",
        "Change the glossary",
        False,
        "Can change glossary terms that every translator and machine translation follows.",
    ),
)

PUBLISH_TRANSLATIONS = "translations:publish"  # also needed to delete a key with published text
CATALOG: dict[str, Scope] = {scope.name: scope for scope in _SCOPES}
DEFAULT_SCOPES: tuple[str, ...] = tuple(s.name for s in _SCOPES if s.default_on)
IGNORED_SCOPES = frozenset({"offline_access"})  # accepted; refresh tokens are always issued


def parse_scope(value: str | None) -> tuple[str, ...]:
    """Split a space-separated scope string, dropping ignored scopes; unknown → ``invalid_scope``.

    The result keeps catalog order and has no duplicates. ``None`` or an empty
    string gives an empty tuple: the caller decides what "no scope" means.
    """
    requested = set((value or "").split())
    unknown = sorted(requested - CATALOG.keys() - IGNORED_SCOPES)
    if unknown:
        raise InvalidScope(f"Unknown scope: {' '.join(unknown)}.")
    return tuple(name for name in CATALOG if name in requested)


def format_scope(names: Iterable[str]) -> str:
    """Scopes in catalog order, space-separated (RFC 6749 §3.3)."""
    wanted = set(names)
    return " ".join(name for name in CATALOG if name in wanted)
