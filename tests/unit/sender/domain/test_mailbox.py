"""International addresses: the domain always travels as ASCII A-labels; only a non-ASCII local part needs SMTPUTF8."""

from __future__ import annotations

import pytest

from services.sender.domain.mailbox import AddressError, mailbox_of


def test_an_ascii_address_travels_as_written() -> None:
    box = mailbox_of("kari.nordmann+news@shop.example")
    assert box.address == "kari.nordmann+news@shop.example"
    assert not box.needs_smtputf8


def test_a_unicode_domain_becomes_punycode_and_needs_no_smtputf8() -> None:
    box = mailbox_of("kari@blåbær.no")
    assert box.address == "kari@xn--blbr-roah.no"
    assert not box.needs_smtputf8
    assert mailbox_of(box.address) == box  # already encoded: unchanged


def test_a_unicode_local_part_stays_utf8_and_needs_smtputf8() -> None:
    box = mailbox_of("bjørn@eksempel.no")
    assert box.address == "bjørn@eksempel.no"
    assert box.needs_smtputf8
    assert mailbox_of("åse@blåbær.no").address == "åse@xn--blbr-roah.no"


@pytest.mark.parametrize(
    "address",
    ["no-at-sign", "@shop.example", "reader@", "reader@shop.example\r\nBcc: everyone@shop.example", "a@b\x00c.no"],
)
def test_what_no_server_can_be_given_is_refused(address: str) -> None:
    with pytest.raises(AddressError):
        mailbox_of(address)


def test_a_domain_that_is_no_valid_idn_is_refused_with_the_reason() -> None:
    with pytest.raises(AddressError, match="not a valid internationalised domain name"):
        mailbox_of("kari@bad\u200dname.no")  # a zero-width joiner outside the context IDNA allows it in
