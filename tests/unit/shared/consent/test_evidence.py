"""The consent ledger keeps the network an IP address belongs to, never the address."""

from __future__ import annotations

import pytest

from shared.consent.evidence import consent_network


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("198.51.100.7", "198.51.100.0/24"),
        (" 198.51.100.7 ", "198.51.100.0/24"),
        ("2001:db8:1:2::7", "2001:db8:1::/48"),
        ("[2001:db8:1:2::7]", "2001:db8:1::/48"),
        ("::ffff:203.0.113.9", "203.0.113.0/24"),
        ("198.51.100.0/24", "198.51.100.0/24"),
        ("198.51.100.7/32", "198.51.100.0/24"),
        ("10.0.0.0/8", "10.0.0.0/8"),
        ("not an address", None),
        ("", None),
        (None, None),
    ],
)
def test_an_address_is_kept_as_its_network(given: str | None, kept: str | None) -> None:
    assert consent_network(given) == kept
