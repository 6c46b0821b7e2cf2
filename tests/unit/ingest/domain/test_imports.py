"""What an import decides before it writes: chunks, rejected rows in line order, consent per row."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from services.ingest.domain.imports import (
    SUPPRESSED,
    ImportRow,
    RejectedRow,
    address_hashes,
    chunked,
    identification,
    parse_rows,
    plan_chunk,
)
from services.ingest.domain.requests import ContactIn
from shared.identity import identifier_hash

NOW = datetime(2026, 3, 1, tzinfo=UTC)


def row(line: int, email: str | None = None, *, consent: bool = False, topics: list[str] | None = None) -> ImportRow:
    contact = ContactIn(email=email) if email else ContactIn(external_id=f"x{line}")
    return ImportRow(line, contact, consent, topics or [])


def test_rows_are_cut_into_chunks_of_the_given_size_the_last_one_shorter() -> None:
    assert list(chunked(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunked([], 3)) == []
    with pytest.raises(ValueError):
        list(chunked(range(3), 0))


def test_only_rows_with_an_address_are_looked_up_hashed_like_the_suppression_list() -> None:
    rows = [row(2, "Kari@Example.com"), row(3), RejectedRow(4, "email: not an address")]
    assert address_hashes("shop", rows) == {2: identifier_hash("shop", "email", "kari@example.com")}


def test_suppressed_addresses_are_rejected_beside_unreadable_rows_in_line_order() -> None:
    kept, gone, no_address = row(2, "kept@example.com"), row(3, "gone@example.com"), row(5)
    unreadable = RejectedRow(4, "email: not an address")
    rows = [kept, gone, unreadable, no_address]
    addresses = address_hashes("shop", rows)
    plan = plan_chunk(rows, addresses, {addresses[3]})
    assert plan.write == [kept, no_address]
    assert plan.rejected == [RejectedRow(3, SUPPRESSED), unreadable]


def test_a_consenting_row_grants_marketing_and_its_topics_keyed_by_batch_and_line() -> None:
    call = identification(
        row(7, "kari@example.com", consent=True, topics=["offers", "news", "offers"]),
        batch_id="import-1",
        policy_version="2025-01",
        now=NOW,
    )
    assert call.event_id == "import-1:7"
    assert call.consent is not None
    assert [(e.action, e.scope, e.source, e.policy_version) for e in call.consent.entries] == [
        ("grant", "*", "import", "2025-01"),
        ("grant", "channel:email", "import", "2025-01"),  # no channels column: email only
        ("grant", "news", "import", "2025-01"),
        ("grant", "offers", "import", "2025-01"),
    ]
    assert call.consent.subscriptions == dict.fromkeys(["*", "channel:email", "news", "offers"], "subscribed")


def test_a_row_without_consent_carries_its_profile_and_no_consent() -> None:
    call = identification(row(8, "nils@example.com", topics=["offers"]), batch_id="b", policy_version=None, now=NOW)
    assert call.consent is None and call.contact.email == "nils@example.com"


def test_a_channels_column_names_the_channels_a_row_consents_to() -> None:
    lines = [
        {"email": "kari@example.com", "consent": "yes", "channels": "SMS, email"},
        {"email": "nils@example.com", "consent": "yes", "channels": "fax"},
    ]
    sms, fax = list(parse_rows(iter(lines), consent_column="consent", default_topics=[]))
    assert fax == RejectedRow(3, "channels: unknown channel fax (email, sms, post, web)")
    assert isinstance(sms, ImportRow) and sms.channels == ("email", "sms")
    assert "channels" not in sms.contact.attributes
    call = identification(sms, batch_id="b", policy_version=None, now=NOW)
    assert call.consent is not None
    assert call.consent.subscriptions == dict.fromkeys(["*", "channel:email", "channel:sms"], "subscribed")
