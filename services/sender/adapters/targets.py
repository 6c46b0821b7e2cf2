"""Outbound HTTP targets chosen by users (webhooks, template links) must not reach our own network."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from urllib.parse import urlsplit


class RefusedTarget(Exception):
    """The URL points at a private, loopback or link-local address (or cannot be resolved)."""


def _public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_reserved or ip.is_multicast or ip.is_unspecified
    )


async def check_target(url: str, *, allow_private: bool) -> None:
    """Resolve the host and refuse the URL unless every address is public (a name may have several)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise RefusedTarget(f"not an http(s) URL: {url}")
    if allow_private:
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise RefusedTarget(f"cannot resolve {parts.hostname}: {error}") from error
    addresses = {str(info[4][0]) for info in infos}
    private = sorted(address for address in addresses if not _public(address))
    if private or not addresses:
        raise RefusedTarget(f"{parts.hostname} resolves to a private address ({', '.join(private)})")
