"""The https URLs a console app declares (homepage, privacy policy, terms, logo)."""

from __future__ import annotations

from urllib.parse import SplitResult, urlsplit

__all__ = ["https_url"]

_MAX_LENGTH = 2000


def https_url(value: str, label: str) -> SplitResult:
    """``value`` split, when it is an https URL with a host, at most 2000 printable ASCII
    characters, without user information; `ValueError` naming the ``label`` otherwise."""
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018  (raises on an invalid port)
    except ValueError as exc:
        raise ValueError(f"The {label} has an invalid host or port.") from exc
    if (
        len(value) > _MAX_LENGTH
        or any(ord(ch) <= 0x20 or ord(ch) >= 0x7F for ch in value)
        or parts.scheme != "https"
        or not parts.hostname
        or "@" in parts.netloc
    ):
        raise ValueError(
            f"The {label} must be an https URL with a host, at most 2000 printable characters, "
            "without user information."
        )
    return parts
