"""Which addresses deliveries may connect to: the SSRF policy.

Refused, unless ``WEBHOOKS["ALLOWED_NETWORKS"]`` lets them through: loopback, private,
link-local (169.254.169.254 included), CGNAT, IPv6 site-local (fec0::/10), multicast,
reserved and unspecified addresses, and anything else not globally routable; IPv4-mapped
IPv6 and NAT64 forms are judged by the IPv4 address they carry. The transport applies
this to every address a host name resolves to, at connect time; the URL validators to
address literals, numeric IPv4 forms included.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from functools import lru_cache

from webhooks_app.conf import webhook_settings

NAT64 = ipaddress.ip_network("64:ff9b::/96")
CGNAT = ipaddress.ip_network("100.64.0.0/10")

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def blocked_reason(ip: str) -> str | None:
    """Why deliveries may not connect to ``ip``, or None if they may."""
    if not webhook_settings.BLOCK_PRIVATE_ADDRESSES:
        return None
    return _judge(ipaddress.ip_address(ip.split("%", 1)[0]), ip)


def _judge(addr: Address, shown: str) -> str | None:
    if any(addr in net for net in allowed_networks(tuple(webhook_settings.ALLOWED_NETWORKS))):
        return None
    if isinstance(addr, ipaddress.IPv6Address):
        if addr.ipv4_mapped is not None:
            return _judge(addr.ipv4_mapped, shown)
        if addr in NAT64:
            return _judge(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF), shown)
    checks = (
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("private", addr.is_private),
        ("site-local", isinstance(addr, ipaddress.IPv6Address) and addr.is_site_local),
        ("multicast", addr.is_multicast),
        ("reserved", addr.is_reserved),
        ("unspecified", addr.is_unspecified),
        ("shared (CGNAT)", isinstance(addr, ipaddress.IPv4Address) and addr in CGNAT),
        ("non-global", not addr.is_global),
    )
    for label, hit in checks:
        if hit:
            return f"{shown} is a {label} address"
    return None


def ip_literal(host: str) -> Address | None:
    """The address ``host`` denotes when it is an address literal, in any form a resolver
    accepts: ``127.0.0.1``, ``::1``, and the numeric IPv4 forms ``2130706433``, ``127.1``,
    ``0x7f.0.0.1`` and ``0177.0.0.1``, which getaddrinfo() reads as 127.0.0.1."""
    host = host.strip("[]").split("%", 1)[0]
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if not _NUMERIC_IPV4.fullmatch(host):
        return None
    try:
        return ipaddress.IPv4Address(socket.inet_aton(host.rstrip(".")))
    except OSError:
        return None


_NUMERIC_IPV4 = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}\.?", re.I)


@lru_cache(maxsize=8)
def allowed_networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    """The ALLOWED_NETWORKS setting, parsed once (a bad entry is a system check error)."""
    return tuple(ipaddress.ip_network(value, strict=False) for value in values)
