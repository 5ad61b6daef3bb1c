"""The append-only audit log: who did what to which grant, organization or client, and the
newest events of it for ``i18n-connect audit tail``. Its owner is `storage.audit`; this is the
name the domain modules and the command line know it by."""

from __future__ import annotations

from i18n_connect.storage.audit import AuditEvent, recent, record, search

__all__ = ["AuditEvent", "recent", "record", "search"]
