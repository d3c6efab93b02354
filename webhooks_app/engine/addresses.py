"""Which addresses deliveries may connect to: the SSRF policy.

Refused, unless ``WEBHOOKS["ALLOWED_NETWORKS"]`` lets them through: loopback, private,
link-local (169.254.169.254 included), CGNAT, IPv6 site-local (fec0::/10), multicast,
reserved and unspecified addresses, IANA's special-purpose blocks (``SPECIAL_PURPOSE``:
192.0.0.0/24 and the documentation and benchmarking ranges among them), and anything
else not globally routable. An IPv6 address that carries an IPv4 one is refused when the
IPv4 address is: IPv4-mapped and IPv4-compatible forms, NAT64 (64:ff9b::/96), 6to4
(2002::/16) and Teredo (2001::/32, server and client); IPv4-mapped, NAT64 and 6to4 forms
carrying an allowed IPv4 address are allowed (they only ever reach it), whatever the
Python version's own tables say of 2002::/16. The transport applies this to
every address a host name resolves to, at connect time; the URL validators to address
literals, numeric IPv4 forms included.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from functools import lru_cache

from webhooks_app.conf import webhook_settings

NAT64 = ipaddress.ip_network("64:ff9b::/96")
CGNAT = ipaddress.ip_network("100.64.0.0/10")

# IANA's special-purpose registries, spelled out: which of these Python's ``is_global``
# and ``is_private`` cover has changed between patch releases (192.0.0.0/24 is "global"
# in some), and none is a place a webhook receiver lives.
SPECIAL_PURPOSE = {
    ipaddress.ip_network(net): label
    for net, label in (
        ("0.0.0.0/8", "this network"),
        ("192.0.0.0/24", "IETF protocol assignments"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "6to4 relay anycast"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("240.0.0.0/4", "reserved"),
        ("100::/64", "discard-only"),
        ("64:ff9b:1::/48", "local-use NAT64"),
        ("2001::/23", "IETF protocol assignments"),
        ("2001:db8::/32", "documentation"),
        ("3fff::/20", "documentation"),
        ("5f00::/16", "segment routing (SRv6 SID)"),
    )
}

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
        for carried in embedded_ipv4(addr):
            if reason := _judge(carried, f"{shown} (carrying {carried})"):
                return reason
        if addr.ipv4_mapped is not None or addr in NAT64 or addr.sixtofour is not None:
            return None  # these only ever reach the IPv4 address they carry
    return _class_reason(addr, shown)


def _class_reason(addr: Address, shown: str) -> str | None:
    # The explicit table first: the reason given must not depend on the Python version.
    for net, label in SPECIAL_PURPOSE.items():
        if addr in net:
            return f"{shown} is in a special-purpose block ({label}, {net})"
    checks = (
        ("loopback", addr.is_loopback),
        ("link-local", addr.is_link_local),
        ("private", addr.is_private),
        ("site-local", isinstance(addr, ipaddress.IPv6Address) and addr.is_site_local),
        ("multicast", addr.is_multicast),
        ("reserved", addr.is_reserved),
        ("unspecified", addr.is_unspecified),
        ("shared (CGNAT)", isinstance(addr, ipaddress.IPv4Address) and addr in CGNAT),
    )
    for label, hit in checks:
        if hit:
            return f"{shown} is a {label} address"
    if not addr.is_global:
        return f"{shown} is a non-global address"
    return None


def embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries, by the standard forms: a connection to
    it may end up at them."""
    if addr.ipv4_mapped is not None:
        return [addr.ipv4_mapped]
    low32 = ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF)
    if addr in NAT64:
        return [low32]
    if int(addr) >> 32 == 0 and int(addr) > 1:  # IPv4-compatible ::a.b.c.d (deprecated)
        return [low32]
    if addr.sixtofour is not None:
        return [addr.sixtofour]
    if addr.teredo is not None:
        return list(addr.teredo)  # its server and its (de-obfuscated) client
    return []


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
