"""Outbound HTTP to URLs users choose (webhooks, template links) reaches the public internet only.

A name is resolved once per connection, every address it has is checked, and the TCP connection
goes to an address that was checked: the HTTP client never resolves the name again, so an answer
that changes between check and connect (DNS rebinding) cannot reach our own network. TLS (SNI and
the certificate check) and the Host header keep the name. Redirects open connections the same way,
so every hop is checked.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network
from urllib.parse import urlsplit

import httpcore
import httpx

Resolve = Callable[[str, int], Awaitable[list[str]]]
IPAddress = IPv4Address | IPv6Address


class RefusedTarget(Exception):
    """The URL is not http(s), or its host has an address that is not publicly routable."""


# Not globally reachable (IANA's special-purpose registries), where `is_global` of Python 3.11.7
# still says it is: its lists predate 3.11.10. 192.0.0.0/24 is refused whole (its two anycast
# addresses serve no webhook), and so are the deprecated 6to4 relays and IPv6 site-local addresses.
NOT_PUBLIC = tuple(
    ip_network(network)
    for network in (
        "100.64.0.0/10",  # carrier-grade NAT
        "192.0.0.0/24",  # IETF protocol assignments
        "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
        "64:ff9b:1::/48",  # local-use NAT64
        "2001::/23",  # IETF protocol assignments, Teredo included
        "2001:db8::/32",  # documentation
        "3fff::/20",  # documentation
        "5f00::/16",  # segment routing
        "fc00::/7",  # unique local
        "fe80::/10",  # link-local
        "fec0::/10",  # site-local (deprecated)
    )
)
# The NAT64 well-known prefix carries an IPv4 address in its last 32 bits.
NAT64 = ip_network("64:ff9b::/96")


def embedded_ipv4(address: IPv6Address) -> IPv4Address | None:
    """The IPv4 address an IPv6 one stands for: IPv4-mapped, 6to4 (2002::/16) or NAT64."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64:
        return IPv4Address(int(address) & 0xFFFF_FFFF)
    return None


def is_public(address: IPAddress) -> bool:
    """Globally routable unicast; an IPv6 address carrying an IPv4 one is judged by the IPv4 one."""
    if isinstance(address, IPv6Address):
        embedded = embedded_ipv4(address)
        if embedded is not None:
            return is_public(embedded)
    if not address.is_global or address.is_multicast or address.is_reserved:
        return False
    return not any(address in network for network in NOT_PUBLIC)


def _is_address(host: str) -> bool:
    try:
        ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


async def resolve_host(host: str, port: int) -> list[str]:
    """Every address of `host`, in the resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


@dataclass(frozen=True)
class TargetGuard:
    """Which addresses outbound requests may reach, and how names become addresses.

    `allow_private` (DRIPLINE_ALLOW_PRIVATE_WEBHOOKS, for tests and the local stack) lifts the check
    but keeps the pinned resolution. Tests replace `resolve` with a stub and `connector` (what opens
    the TCP connection to an address) with a recorder.
    """

    allow_private: bool = False
    resolve: Resolve = resolve_host
    connector: httpcore.AsyncNetworkBackend = field(default_factory=httpcore.AnyIOBackend)

    @staticmethod
    def check_url(url: str) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise RefusedTarget(f"not an http(s) URL: {url}")

    async def addresses(self, host: str, port: int, timeout: float | None = None) -> list[str]:
        """The addresses to connect to; refused when any is not public (a name may have several)."""
        try:
            async with asyncio.timeout(timeout):
                found = [host] if _is_address(host) else await self.resolve(host, port)
        except TimeoutError as error:
            raise httpcore.ConnectTimeout(f"resolving {host} timed out") from error
        except OSError as error:
            raise httpcore.ConnectError(f"cannot resolve {host}: {error}") from error
        if not found:
            raise httpcore.ConnectError(f"{host} has no address")
        if not self.allow_private:
            for address in found:
                if not is_public(ip_address(address.split("%", 1)[0])):
                    named = f"{address} is" if address == host else f"{host} resolves to {address},"
                    raise RefusedTarget(f"{named} a private address (not publicly routable)")
        return found

    def client(self, *, timeout: httpx.Timeout, headers: dict[str, str] | None = None) -> httpx.AsyncClient:
        """A client whose every connection goes through this guard. Connections are not kept
        alive: bodies are never read (so they could not be reused) and nothing lingers unclosed."""
        transport = GuardedTransport(PinnedNetwork(self))
        return httpx.AsyncClient(transport=transport, timeout=timeout, headers=headers, trust_env=False)


class PinnedNetwork(httpcore.AsyncNetworkBackend):
    """httpcore's network backend: connects to an address the guard checked, never the name."""

    def __init__(self, guard: TargetGuard) -> None:
        self._guard = guard

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failures: list[httpcore.ConnectError | httpcore.ConnectTimeout] = []
        for address in await self._guard.addresses(host, port, timeout):
            try:
                return await self._guard.connector.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as error:
                failures.append(error)
        raise failures[-1]

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise RefusedTarget("not a network address")

    async def sleep(self, seconds: float) -> None:
        await self._guard.connector.sleep(seconds)


class GuardedTransport(httpx.AsyncHTTPTransport):
    """httpx's transport over a pool that opens connections with `PinnedNetwork`.

    httpx takes no network backend, so the pool it built is replaced by one that does (httpcore's
    documented option); httpx's request and error mapping stay as they are.
    """

    def __init__(self, network: PinnedNetwork) -> None:
        super().__init__(trust_env=False)
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=100,
            max_keepalive_connections=0,
            network_backend=network,
        )
