"""The DNS records a sending domain needs, and their check against a local DNS server."""

from __future__ import annotations

from datetime import date

import dkim
import pytest

from shared.sending_domains import (
    DnsRecord,
    check_records,
    new_dkim_key,
    new_selector,
    public_key_b64,
    records_for,
    resolver_for,
)
from tests.support.dns_stub import Zone, dns_stub

KEY = new_dkim_key()


def _records(spf_include: str | None = "_spf.relay.example") -> list[DnsRecord]:
    return records_for(
        "shop.example",
        "dl20261202",
        KEY,
        tracking_domain="links.shop.example",
        tracker_public_url="https://t.dripline.example",
        spf_include=spf_include,
    )


def _published(records: list[DnsRecord]) -> Zone:
    zone = Zone()
    for record in records:
        zone.add(record.name, record.type, record.value)
    return zone


def test_the_records_name_the_dkim_key_the_relay_dmarc_and_the_tracker() -> None:
    dkim_txt, spf, dmarc, tracking = _records()

    assert (dkim_txt.name, dkim_txt.type) == ("dl20261202._domainkey.shop.example", "TXT")
    assert dkim_txt.value == f"v=DKIM1; k=rsa; p={public_key_b64(KEY)}"
    assert (spf.name, spf.value) == ("shop.example", "v=spf1 include:_spf.relay.example ~all")
    assert dmarc.name == "_dmarc.shop.example" and dmarc.value.startswith("v=DMARC1; p=none;")
    assert (tracking.type, tracking.name, tracking.value) == ("CNAME", "links.shop.example", "t.dripline.example")
    assert _records(spf_include=None)[1].value == "v=spf1 mx ~all"
    assert new_selector(date(2026, 12, 2)) == "dl20261202"


def test_a_generated_key_signs_mail_that_verifies_against_its_published_record() -> None:
    message = b"From: a@shop.example\r\nTo: b@example.org\r\nSubject: hi\r\n\r\nhello\r\n"
    signed = dkim.sign(message, b"dl20261202", b"shop.example", KEY, include_headers=[b"From", b"To", b"Subject"])
    record = _records()[0].value.encode()

    assert dkim.verify(signed + message, dnsfunc=lambda name, timeout=5: record)
    assert b"2048" not in KEY and len(public_key_b64(KEY)) > 350  # a 2048-bit key


async def test_every_published_record_checks_out() -> None:
    records = _records()
    async with dns_stub(_published(records)) as port:
        checks = await check_records(records, resolver_for(f"127.0.0.1:{port}"))

    assert [(check.record.purpose, check.ok) for check in checks] == [
        ("DKIM", True),
        ("SPF", True),
        ("DMARC", True),
        ("tracking", True),
    ]
    assert checks[0].found.replace(" ", "").endswith(public_key_b64(KEY))  # a key longer than one TXT string


@pytest.mark.parametrize(
    ("change", "purpose", "found"),
    [
        (lambda zone: zone.records.pop(("_dmarc.shop.example", "TXT")), "DMARC", "no such name"),
        (lambda zone: zone.add("shop.example", "TXT", "v=spf1 include:other.example ~all"), "SPF", "other.example"),
        (
            lambda zone: zone.records.update({("dl20261202._domainkey.shop.example", "TXT"): ["v=DKIM1; p=QUJD"]}),
            "DKIM",
            "p=QUJD",
        ),
        (
            lambda zone: zone.records.update({("links.shop.example", "CNAME"): ["elsewhere.example."]}),
            "tracking",
            "elsewhere.example",
        ),
    ],
)
async def test_a_missing_or_wrong_record_is_named_with_what_dns_holds(change, purpose: str, found: str) -> None:  # type: ignore[no-untyped-def]
    records = _records()
    zone = _published(records)
    change(zone)
    async with dns_stub(zone) as port:
        checks = await check_records(records, resolver_for(f"127.0.0.1:{port}"))

    failed = [check for check in checks if not check.ok]
    assert [check.record.purpose for check in failed] == [purpose]
    assert found in failed[0].found
