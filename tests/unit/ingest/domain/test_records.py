"""Event records written straight to bytes are the records the contract models would write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from pydantic import TypeAdapter

from services.ingest.domain.records import EventRecords, event_record
from services.ingest.domain.requests import EXAMPLES, EventIn
from shared.contract.topics import topic_for_event_type
from shared.kafka.producer import OutgoingRecord

_EVENT: TypeAdapter[Any] = TypeAdapter(EventIn)
RECEIVED = datetime(2026, 3, 1, 12, 30, 5, 120_000, tzinfo=UTC)

BODIES = {
    **EXAMPLES,
    "cart_updated": {**EXAMPLES["cart_abandoned"], "type": "cart_updated"},
    "product_viewed": {"type": "product_viewed", "contact": {"external_id": "c1"}, "name": "Trail shoe"},
    "signup_defaults": {"type": "signup", "contact": {"external_id": "c1"}},
    "purchase_with_offset": {
        **EXAMPLES["purchase"],
        "occurred_at": "2026-02-28T23:59:59.5+02:00",
        "items": [{"product_id": "p1", "quantity": 2, "price": "10.5", "name": 'Sokk ÆØÅ "ull"'}],
    },
    "track_unicode": {
        "type": "track",
        "contact": {"contact_id": "c"},
        "name": "kjøpt",
        "properties": {"nested": {"list": [1, 2.5, None, True], "text": "line\nbreak\t\u2028"}},
        "occurred_at": "2026-03-01T00:00:00Z",
    },
}


@pytest.mark.parametrize("name", sorted(BODIES))
def test_written_record_is_byte_for_byte_the_models_record(name: str) -> None:
    event = _EVENT.validate_python(BODIES[name])
    contact_id = 'contact-"quoted"\\\x01'
    topic, model = event_record(
        event, workspace_id="shop-ø", contact_id=contact_id, event_id="ev-1", received_at=RECEIVED
    )
    expected = OutgoingRecord.of(topic, model)

    records = EventRecords("shop-ø", RECEIVED)
    assert records.value(event, contact_id=contact_id, event_id="ev-1") == expected.value
    assert records.headers(event) == expected.headers
    assert topic_for_event_type(event.type) == topic
    assert expected.value is not None
    topic.adapter().validate_json(expected.value)


def test_receive_time_in_another_zone_is_written_as_the_models_write_it() -> None:
    received = datetime(2026, 3, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    event = _EVENT.validate_python(BODIES["track"])
    topic, model = event_record(event, workspace_id="w", contact_id="c", event_id="e", received_at=received)
    written = EventRecords("w", received).value(event, contact_id="c", event_id="e")
    assert written == OutgoingRecord.of(topic, model).value


def test_records_of_one_kind_share_their_headers() -> None:
    records = EventRecords("w", RECEIVED)
    first = _EVENT.validate_python(BODIES["track"])
    second = _EVENT.validate_python(BODIES["track_unicode"])
    assert records.headers(first) is records.headers(second)
    assert dict(records.headers(first)) == {"schema": b"TrackEvent", "schema-version": b"1", "event-type": b"track"}
