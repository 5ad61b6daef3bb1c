"""Which network addresses the server may connect to on a partner's behalf (server-side request
forgery): client ID metadata documents and webhook deliveries go through the same filters.

A host is resolved first and every address it resolves to must be public: no private,
loopback, link-local, multicast, reserved or unspecified address, nor an IPv6 address carrying
such an IPv4 one (mapped, compatible, translated, NAT64, 6to4, Teredo). The caller then
connects to the address that was checked, never to the name again. Loopback is admitted only
when a development setting asks for it.
"""

from __future__ import annotations

import ipaddress
import socket

import anyio

__all__ = ["UnsafeAddress", "address_allowed", "checked_address"]

# IPv6 ranges whose last 32 bits are an IPv4 address: NAT64, IPv4-compatible, IPv4-translated.
_IPV4_IN_LOW_BITS = tuple(
    ipaddress.IPv6Network(net) for net in ("64:ff9b::/96", "::/96", "::ffff:0:0:0/96")
)
_NEVER_PUBLIC_IPV6 = (ipaddress.IPv6Network("64:ff9b:1::/48"),)  # local-use NAT64 (RFC 8215)


class UnsafeAddress(Exception):
    """The host does not resolve (``resolved=False``) or resolves to a refused address."""

    def __init__(self, host: str, *, resolved: bool) -> None:
        super().__init__(host)
        self.host = host
        self.resolved = resolved


def _embedded_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address, ...]:
    """The IPv4 addresses an IPv6 address carries (RFC 6052 NAT64, RFC 4291 §2.5.5
    compatible and mapped, RFC 2765 translated, RFC 3056 6to4, RFC 4380 Teredo)."""
    if any(ip in network for network in _IPV4_IN_LOW_BITS):
        return (ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF),)
    if ip.sixtofour is not None:
        return (ip.sixtofour,)
    if ip.teredo is not None:
        return ip.teredo
    return ()


def _public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if not ip.is_global or ip.is_multicast:
        return False
    if isinstance(ip, ipaddress.IPv4Address):
        return True
    if any(ip in network for network in _NEVER_PUBLIC_IPV6):
        return False
    return all(_public(inner) for inner in _embedded_ipv4(ip))


def address_allowed(address: str, *, allow_loopback: bool) -> bool:
    """Whether the server may connect to ``address``: public, and so is every IPv4 address
    embedded in it (a NAT64 or 6to4 address may lead to a private one)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_loopback:
        return allow_loopback
    return _public(ip)


async def checked_address(host: str, port: int, *, allow_loopback: bool) -> str:
    """The first address of ``host``, after every address it resolves to was checked;
    `UnsafeAddress` otherwise."""
    try:
        infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UnsafeAddress(host, resolved=False) from exc
    addresses = [str(info[4][0]) for info in infos]
    if not addresses or not all(
        address_allowed(address, allow_loopback=allow_loopback) for address in addresses
    ):
        raise UnsafeAddress(host, resolved=True)
    return addresses[0]
