"""The security headers that `web.edge` adds to every response (CSP Level 3
``frame-ancestors``, RFC 7034 ``X-Frame-Options``).

There is deliberately no ``form-action`` directive: the consent form's POST
answers with a 303 to the partner's redirect URI, and browsers apply
``form-action`` to the redirect target too. HTML pages are never cached
(``Cache-Control: no-store``): each one carries a CSRF token or user data.
"""

from __future__ import annotations

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "DOCS_CONTENT_SECURITY_POLICY",
    "with_security_headers",
]

CONTENT_SECURITY_POLICY = (
    b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# The OpenAPI explorer at /docs: Swagger UI from this site; its icons are data: images.
DOCS_CONTENT_SECURITY_POLICY = (
    b"default-src 'self'; img-src 'self' data:; "
    b"frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
_CSP = b"content-security-policy"
_NO_STORE = (b"cache-control", b"no-store")


def with_security_headers(
    headers: list[tuple[bytes, bytes]], policy: bytes
) -> list[tuple[bytes, bytes]]:
    """``headers`` (raw ASGI pairs) with each security header the response has not set itself:
    one pass over the response's own headers."""
    present = {name.lower(): value for name, value in headers}
    headers.extend(pair for pair in ((_CSP, policy), *_HEADERS) if pair[0] not in present)
    html = present.get(b"content-type", b"").startswith(b"text/html")
    if html and _NO_STORE[0] not in present:
        headers.append(_NO_STORE)
    return headers
