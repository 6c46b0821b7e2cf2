"""Record headers name the schema, its version and the event type, read from the model's own fields."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.contract.internal import FlowTransition, MessageRequested
from shared.kafka.codec import headers_for

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_a_record_with_a_kind_names_it_as_the_event_type() -> None:
    record = FlowTransition(
        event_id="e1", workspace_id="w", contact_id="c", occurred_at=NOW, received_at=NOW,
        flow_id="f", flow_version=1, kind="entered",
    )  # fmt: skip
    assert dict(headers_for(record)) == {
        "schema": b"FlowTransition",
        "schema-version": b"1",
        "event-type": b"entered",
    }


def test_a_record_without_type_or_kind_has_no_event_type() -> None:
    record = MessageRequested(
        event_id="e1", workspace_id="w", contact_id="c", occurred_at=NOW, received_at=NOW,
        channel="email", template_id="t",
    )  # fmt: skip
    assert dict(headers_for(record)) == {"schema": b"MessageRequested", "schema-version": b"1"}
