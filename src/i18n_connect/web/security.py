"""The security headers that `web.edge` adds to every response (CSP Level 3
``frame-ancestors``, RFC 7034 ``X-Frame-Options``).

There is deliberately no ``form-action`` directive: the consent form's POST
answers with a 303 to the partner's redirect URI, and browsers apply
``form-action`` to the redirect target too. HTML pages are never cached
(``Cache-Control: no-store``): each one carries a CSRF token or user data.
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = [
    "CONTENT_SECURITY_POLICY",
    "DOCS_CONTENT_SECURITY_POLICY",
    "with_edge_headers",
]

CONTENT_SECURITY_POLICY = (
    b"default-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
# The OpenAPI explorer at /docs: Swagger UI from this site; its icons are data: images.
DOCS_CONTENT_SECURITY_POLICY = (
    b"default-src 'self'; img-src 'self' data:; "
    b"frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)

_Header = tuple[bytes, bytes]

_CSP = b"content-security-policy"
_HEADERS = [
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]
_SECURITY = {
    policy: [(_CSP, policy), *_HEADERS]
    for policy in (CONTENT_SECURITY_POLICY, DOCS_CONTENT_SECURITY_POLICY)
}
_SECURITY_NAMES = frozenset(name for name, _ in _SECURITY[CONTENT_SECURITY_POLICY])
_NO_STORE = (b"cache-control", b"no-store")


def with_edge_headers(headers: Iterable[_Header], added: _Header, policy: bytes) -> list[_Header]:
    """``headers`` (raw ASGI pairs) without those named like ``added``, then ``added`` (the
    request id), then each security header the response has not set itself, and
    ``Cache-Control: no-store`` for HTML that sets no ``Cache-Control``."""
    own = list(headers)
    present = {name.lower(): value for name, value in own}
    if added[0] in present:
        own = [pair for pair in own if pair[0].lower() != added[0]]
    own.append(added)
    security = _SECURITY.get(policy) or [(_CSP, policy), *_HEADERS]
    if _SECURITY_NAMES.isdisjoint(present):  # the usual case: every one is added
        own += security
    else:
        own.extend(pair for pair in security if pair[0] not in present)
    html = present.get(b"content-type", b"").startswith(b"text/html")
    if html and _NO_STORE[0] not in present:
        own.append(_NO_STORE)
    return own
