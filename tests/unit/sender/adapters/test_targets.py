"""The outbound guard: only publicly routable addresses, judged once per connection and connected to."""

from __future__ import annotations

import httpx
import pytest

from services.sender.adapters.targets import RefusedTarget, TargetGuard
from tests.support.network import LabNetwork, StubResolver

NOT_PUBLIC = [
    ("0.0.0.0/8, this network", "0.0.0.1"),
    ("10.0.0.0/8, private", "10.1.2.3"),
    ("100.64.0.0/10, carrier-grade NAT", "100.64.0.1"),
    ("127.0.0.0/8, loopback", "127.0.0.1"),
    ("169.254.0.0/16, link-local (cloud metadata)", "169.254.169.254"),
    ("172.16.0.0/12, private", "172.31.255.254"),
    ("192.0.0.0/24, IETF assignments", "192.0.0.1"),
    ("192.0.0.0/24, its anycast addresses too", "192.0.0.9"),
    ("192.0.2.0/24, documentation", "192.0.2.1"),
    ("192.88.99.0/24, 6to4 relays", "192.88.99.1"),
    ("192.168.0.0/16, private", "192.168.1.1"),
    ("198.18.0.0/15, benchmarking", "198.19.0.1"),
    ("198.51.100.0/24, documentation", "198.51.100.7"),
    ("203.0.113.0/24, documentation", "203.0.113.9"),
    ("224.0.0.0/4, multicast", "239.255.255.250"),
    ("240.0.0.0/4, reserved", "240.0.0.1"),
    ("255.255.255.255, broadcast", "255.255.255.255"),
    ("::, unspecified", "::"),
    ("::1, loopback", "::1"),
    ("::ffff:0:0/96, IPv4-mapped loopback", "::ffff:127.0.0.1"),
    ("::ffff:0:0/96, IPv4-mapped private", "::ffff:10.0.0.1"),
    ("::/96, IPv4-compatible", "::127.0.0.1"),
    ("64:ff9b::/96, NAT64 of the metadata address", "64:ff9b::a9fe:a9fe"),
    ("64:ff9b::/96, NAT64 of loopback", "64:ff9b::7f00:1"),
    ("64:ff9b:1::/48, local-use NAT64", "64:ff9b:1::1"),
    ("100::/64, discard", "100::1"),
    ("2001::/32, Teredo", "2001::1"),
    ("2001:db8::/32, documentation", "2001:db8::1"),
    ("2002::/16, 6to4 of loopback", "2002:7f00:1::1"),
    ("2002::/16, 6to4 of a private address", "2002:a00:1::1"),
    ("3fff::/20, documentation", "3fff::1"),
    ("5f00::/16, segment routing", "5f00::1"),
    ("fc00::/7, unique local (AWS metadata)", "fd00:ec2::254"),
    ("fe80::/10, link-local", "fe80::1"),
    ("fe80::/10, link-local with a zone", "fe80::1%eth0"),
    ("fec0::/10, site-local", "fec0::1"),
    ("ff00::/8, multicast", "ff02::1"),
]
PUBLIC = ["8.8.8.8", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808"]


def guard_answering(*addresses: str, allow_private: bool = False) -> TargetGuard:
    return TargetGuard(allow_private=allow_private, resolve=StubResolver({"hooks.example": [list(addresses)]}))


@pytest.mark.parametrize(("blocked_range", "address"), NOT_PUBLIC, ids=[name for name, _ in NOT_PUBLIC])
async def test_every_address_that_is_not_publicly_routable_is_refused(blocked_range: str, address: str) -> None:
    with pytest.raises(RefusedTarget, match="private address"):
        await guard_answering(address).addresses("hooks.example", 443)


@pytest.mark.parametrize("address", PUBLIC)
async def test_public_addresses_pass_including_ipv6_forms_of_public_ipv4(address: str) -> None:
    assert await guard_answering(address).addresses("hooks.example", 443) == [address]


async def test_a_name_with_one_private_address_among_public_ones_is_refused() -> None:
    with pytest.raises(RefusedTarget, match="10.0.0.7"):
        await guard_answering("8.8.8.8", "10.0.0.7", "1.1.1.1").addresses("hooks.example", 443)


async def test_allowing_private_targets_lets_loopback_through_for_tests_and_the_local_stack() -> None:
    assert await guard_answering("127.0.0.1", allow_private=True).addresses("hooks.example", 80) == ["127.0.0.1"]


async def test_a_name_that_does_not_resolve_is_a_connection_failure_to_retry() -> None:
    guard = TargetGuard(resolve=StubResolver({}))
    async with guard.client(timeout=httpx.Timeout(2)) as client:
        with pytest.raises(httpx.ConnectError, match="cannot resolve nowhere.example"):
            await client.get("http://nowhere.example/")


@pytest.mark.parametrize("url", ["file:///etc/passwd", "gopher://hooks.example/", "ftp://hooks.example/", "http:///x"])
def test_only_http_urls_with_a_host_are_targets(url: str) -> None:
    with pytest.raises(RefusedTarget, match="not an http"):
        TargetGuard.check_url(url)


async def test_tls_verifies_the_name_while_tcp_goes_to_the_checked_address() -> None:
    network = LabNetwork(handshake_only=True)
    guard = TargetGuard(resolve=StubResolver({"shop.example": [["8.8.8.8"]]}), connector=network)
    async with guard.client(timeout=httpx.Timeout(2)) as client:
        with pytest.raises(httpx.ConnectError, match="handshake recorded"):
            await client.get("https://shop.example/spring-sale")

    assert network.asked == [("8.8.8.8", 443)]
    assert network.server_names == ["shop.example"]
