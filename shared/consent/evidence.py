"""What the consent ledger keeps as evidence of where consent came from, and how much of it.

An IP address identifies a household or a phone; the network it belongs to is what evidence of
consent needs (a sign-up from the shop's country, a burst of sign-ups from one network), so the
ledger keeps IPv4 addresses to their /24 and IPv6 addresses to their /48, never the address
itself. A value that is not an IP address (shops send what their forms saw) is not kept at all.
"""

from __future__ import annotations

import ipaddress
from functools import lru_cache

IPV4_PREFIX = 24
IPV6_PREFIX = 48


@lru_cache(maxsize=4096)
def consent_network(ip: str | None) -> str | None:
    """`198.51.100.7` → `198.51.100.0/24`; `2001:db8:1:2::7` → `2001:db8:1::/48`; anything else → None."""
    if not ip:
        return None
    text = ip.strip()
    if "/" in text:  # already a network (a row kept before, or a shop that truncates itself)
        try:
            network = ipaddress.ip_network(text, strict=False)
        except ValueError:
            return None
        prefix = IPV4_PREFIX if network.version == 4 else IPV6_PREFIX
        return str(network.supernet(new_prefix=prefix)) if network.prefixlen > prefix else str(network)
    try:
        address = ipaddress.ip_address(text.strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    prefix = IPV4_PREFIX if address.version == 4 else IPV6_PREFIX
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
