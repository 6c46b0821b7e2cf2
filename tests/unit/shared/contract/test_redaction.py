"""Status details and clicked links on the bus keep the facts and lose what a server or a template wrote."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.contract.internal import Engagement, MessageStatus
from shared.contract.redaction import public_detail, public_url

NOW = datetime(2026, 3, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("detail", "public"),
    [
        ("accepted: 250 2.0.0 Ok: queued as 4F1A", "accepted: 250 2.0.0"),
        (
            "address does not exist: 550 5.1.1 <kari.nordmann@example.com>: Recipient address rejected",
            "address does not exist: 550 5.1.1",
        ),
        ("gave up after 3: transient: 421 4.7.0 kari@example.com try later", "gave up after 3: transient: 421 4.7.0"),
        ("mailbox full: 552 5.2.2 Kari Nordmann is over quota", "mailbox full: 552 5.2.2"),
        ("transient: 421 Service not available", "transient: 421"),
        ("not an email address: 'kari@'", "not an email address"),
        ("template 'welcome', part 'html': not an amount: 'Kari'", "template"),
        ("webhook answered 404 whatever the server said", "webhook answered 404 Not Found"),
        ("SMS provider answered 503 Service Unavailable", "SMS provider answered 503 Service Unavailable"),
        ("webhook unreachable: ConnectError: 203.0.113.5 refused", "webhook unreachable"),
        ("no consent to topic news (pending)", "no consent to topic news"),
        ("contact unknown or erased", "contact unknown or erased"),
        (
            "missing data: contact.first_name (template t1, html)",
            "missing data: contact.first_name (template t1, html)",
        ),
        ("550 5.1.1 user unknown kari@example.com", "bounced: 550 5.1.1"),
        ("Kari Nordmann's mailbox is gone", "bounced"),
        (None, None),
    ],
)
def test_a_detail_keeps_the_phrase_and_codes_only(detail: str | None, public: str | None) -> None:
    assert public_detail(detail, "bounced") == public


def test_a_status_record_never_carries_the_servers_text() -> None:
    status = MessageStatus(
        event_id="m1.bounced.1",
        workspace_id="w",
        contact_id="c",
        occurred_at=NOW,
        received_at=NOW,
        message_id="m1",
        status="bounced",
        channel="email",
        detail="550 5.1.1 <kari@example.com>: no such user",
    )
    assert status.detail == "bounced: 550 5.1.1"
    assert "kari" not in status.model_dump_json()


@pytest.mark.parametrize(
    ("url", "public"),
    [
        ("https://shop.example/p/1?email=kari@example.com&utm_source=x#top", "https://shop.example/p/1"),
        ("https://user:pw@shop.example:8443/a/b", "https://shop.example:8443/a/b"),
        ("https://shop.example/hello/kari@example.com/offer", "https://shop.example/hello/~/offer"),
        ("https://shop.example", "https://shop.example"),
    ],
)
def test_a_clicked_link_loses_its_query_fragment_and_user_info(url: str, public: str) -> None:
    assert public_url(url) == public


def test_an_engagement_record_carries_the_public_link() -> None:
    clicked = Engagement(
        event_id="c1",
        workspace_id="w",
        contact_id="c",
        occurred_at=NOW,
        received_at=NOW,
        kind="clicked",
        url="https://shop.example/cart?c=5f0c6f1e&email=kari%40example.com",
    )
    assert clicked.url == "https://shop.example/cart"
