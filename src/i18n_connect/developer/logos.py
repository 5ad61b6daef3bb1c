"""App logos: uploaded, or fetched once from an https URL, then stored and served by this site
(never hot-linked into the consent page).

A logo is a PNG, JPEG or WebP image of at most 256 KB, recognised by its first bytes — never by
the file name or the type a browser or server declared. SVG is refused: it can carry script.
The URL is fetched through the metadata documents' fetcher (`oauth.metadata_documents.
fetch_public`): public addresses only, no redirects, bounded in size and time.
"""

from __future__ import annotations

import hashlib

from i18n_connect.developer.https_urls import https_url
from i18n_connect.errors import ProtocolError
from i18n_connect.oauth.metadata_documents import fetch_public
from i18n_connect.storage.client_profiles import Logo

__all__ = ["MAX_LOGO_BYTES", "Logo", "LogoRefused", "checked_logo", "fetch_logo", "sniff"]

MAX_LOGO_BYTES = 256 * 1024
_NOT_AN_IMAGE = "The logo must be a PNG, JPEG or WebP image."


class LogoRefused(Exception):
    """The logo cannot be used; ``message`` says why, in words for the form."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def sniff(data: bytes) -> str | None:
    """The image type its signature shows (PNG, JPEG, WebP), or ``None``."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def checked_logo(data: bytes, *, source_url: str | None = None) -> Logo:
    """The image as a `Logo`; `LogoRefused` when it is empty, too large or of another type."""
    if len(data) > MAX_LOGO_BYTES:
        raise LogoRefused(f"The logo is larger than {MAX_LOGO_BYTES // 1024} KB.")
    content_type = sniff(data)
    if content_type is None:
        raise LogoRefused(_NOT_AN_IMAGE)
    return Logo(content_type, data, hashlib.sha256(data).hexdigest(), source_url)


async def fetch_logo(url: str, *, allow_loopback: bool) -> Logo:
    """Fetch the logo at ``url`` and check it; `LogoRefused` with the reason otherwise.
    Network only: call it with no transaction open."""
    try:
        parts = https_url(url, "logo URL")
    except ValueError as exc:
        raise LogoRefused(str(exc)) from exc
    host, port = parts.hostname or "", parts.port or 443
    try:
        fetched = await fetch_public(
            url,
            host,
            port,
            what="logo",
            url_what="logo URL",
            accept="image/png, image/jpeg, image/webp",
            max_bytes=MAX_LOGO_BYTES,
            allow_loopback=allow_loopback,
        )
    except ProtocolError as exc:
        raise LogoRefused(exc.description) from exc
    return checked_logo(fetched.body, source_url=url)
