"""Refused client metadata documents, remembered for a while in this process (a negative
cache), so that a client id whose document fails is not fetched again on every request.

Each process keeps its own bounded table: nothing is written to the database for a refusal,
so unauthenticated callers cannot grow it, and a full table drops its oldest entries first.
"""

from __future__ import annotations

from datetime import datetime, timedelta

__all__ = ["REFUSAL_LIFETIME", "RefusalCache"]

REFUSAL_LIFETIME = timedelta(minutes=5)
_MAX_ENTRIES = 4096
_MAX_KEY_LENGTH = 513  # longer client ids are refused for their length alone: one key is enough


class RefusalCache:
    """Client ids whose document was refused, each until its refusal expires."""

    def __init__(self, *, max_entries: int = _MAX_ENTRIES) -> None:
        self._until: dict[str, datetime] = {}
        self._max_entries = max_entries

    def refused(self, client_id: str, now: datetime) -> bool:
        """Whether a refusal of ``client_id`` is still remembered at ``now``."""
        key = client_id[:_MAX_KEY_LENGTH]
        until = self._until.get(key)
        if until is None:
            return False
        if until <= now:
            del self._until[key]
            return False
        return True

    def remember(self, client_id: str, now: datetime) -> None:
        """Remember a refusal of ``client_id`` for `REFUSAL_LIFETIME` from ``now``."""
        key = client_id[:_MAX_KEY_LENGTH]
        self._until.pop(key, None)  # re-inserted last: the oldest entries stay first
        if len(self._until) >= self._max_entries:
            self._until = {k: t for k, t in self._until.items() if t > now}
            while len(self._until) >= self._max_entries:
                del self._until[next(iter(self._until))]
        self._until[key] = now + REFUSAL_LIFETIME

    def __len__(self) -> int:
        return len(self._until)
