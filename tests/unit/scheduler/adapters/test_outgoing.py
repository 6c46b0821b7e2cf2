"""The scheduler's directly written records are byte for byte what the contract models write."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.scheduler.adapters.outgoing import request_out, transition_out
from services.scheduler.adapters.records import stable_id, transition_record
from services.scheduler.domain import Transition
from shared.contract import FlowTransition, MessageRequested
from shared.contract.topics import MESSAGES_REQUESTED, TRANSITIONS
from shared.kafka.producer import OutgoingRecord

NOW = datetime(2025, 3, 3, 8, 30, 15, 123456, tzinfo=UTC)
TIMES = [
    NOW,
    datetime(2025, 3, 3, 8, 30, tzinfo=UTC),
    datetime(2025, 3, 3, 8, 30, 0, 7, tzinfo=ZoneInfo("UTC")),
    datetime(2025, 7, 1, 9, 0, 0, 5, tzinfo=ZoneInfo("Europe/Oslo")),
    datetime(2025, 7, 1, 9, 0, tzinfo=timezone(timedelta(hours=5, minutes=30))),
]
TEXTS: list[str | None] = [None, "", "plain", 'quote " and \\ slash', "line\nbreak\ttab \x1f\x7f", "blåbær ✓ \u2028 😀"]


ENVELOPE: dict[str, Any] = {
    "workspace_id": "shop",
    "contact_id": "c-1",
    "occurred_at": NOW,
    "received_at": NOW,
    "flow_id": "welcome",
    "flow_version": 3,
    "step_id": "hello",
}


def _transition(**overrides: Any) -> dict[str, Any]:
    own = {"event_id": "0b7f6a52-3f0e-5c71-9d0c-5ad3c51f2e44", "kind": "step_reached", "reason": None, "variant": None}
    return ENVELOPE | own | overrides


def _request(**overrides: Any) -> dict[str, Any]:
    own: dict[str, Any] = {
        "event_id": "5d3f2c1e-0000-5000-8000-000000000001",
        "channel": "email",
        "template_id": "welcome-1",
        "category": "marketing",
        "topic": None,
        "variables": {},
    }
    return ENVELOPE | own | overrides


def test_transition_bytes_are_pinned() -> None:
    written = transition_out(**_transition(reason="completed", kind="exited", step_id=None))
    assert written.value == (
        b'{"event_id":"0b7f6a52-3f0e-5c71-9d0c-5ad3c51f2e44","workspace_id":"shop","contact_id":"c-1",'
        b'"occurred_at":"2025-03-03T08:30:15.123456Z","received_at":"2025-03-03T08:30:15.123456Z",'
        b'"schema_version":1,"flow_id":"welcome","flow_version":3,"step_id":null,"kind":"exited",'
        b'"reason":"completed","variant":null}'
    )
    assert written.key == "c-1"
    assert written.headers == [("schema", b"FlowTransition"), ("schema-version", b"1"), ("event-type", b"exited")]


def test_request_bytes_are_pinned() -> None:
    written = request_out(**_request(topic="news", variables={"best_time": True, "variant": "b"}))
    assert written.value == (
        b'{"event_id":"5d3f2c1e-0000-5000-8000-000000000001","workspace_id":"shop","contact_id":"c-1",'
        b'"occurred_at":"2025-03-03T08:30:15.123456Z","received_at":"2025-03-03T08:30:15.123456Z",'
        b'"schema_version":1,"flow_id":"welcome","flow_version":3,"step_id":"hello","broadcast_id":null,'
        b'"channel":"email",'
        b'"template_id":"welcome-1","category":"marketing","topic":"news","variables":{"best_time":true,"variant":"b"},'
        b'"context":{}}'
    )
    assert written.headers == [("schema", b"MessageRequested"), ("schema-version", b"1")]


@pytest.mark.parametrize("at", TIMES)
@pytest.mark.parametrize("text", TEXTS)
@pytest.mark.parametrize("kind", ["entered", "step_reached", "held", "skipped", "failed", "goal_reached", "exited"])
def test_transition_matches_the_model(at: datetime, text: str | None, kind: str) -> None:
    fields = _transition(occurred_at=at, received_at=NOW, kind=kind, reason=text, variant=text, step_id=text)
    assert transition_out(**fields) == OutgoingRecord.of(TRANSITIONS, FlowTransition(**fields))


@pytest.mark.parametrize("at", TIMES)
@pytest.mark.parametrize("text", TEXTS)
def test_request_matches_the_model(at: datetime, text: str | None) -> None:
    variables: dict[str, bool | str] = {"best_time": True} if text is None else {"variant": text}
    fields = _request(occurred_at=at, received_at=at, topic=text, variables=variables, category="transactional")
    assert request_out(**fields) == OutgoingRecord.of(MESSAGES_REQUESTED, MessageRequested(**fields))


CONTEXTS: list[dict[str, Any]] = [
    {},
    {"flow": {"id": "cart", "name": "Cart ✓", "version": 2}, "step": {"id": "help"}},
    {
        "event": {
            "id": "e-1",
            "type": "cart_abandoned",
            "at": "2025-03-03T08:30:15.123456Z",
            "value": "1299.00",
            "items": [{"product_id": "p-1", "name": 'Sko "Fjell"', "quantity": 2, "price": "1.5"}],
            "nested": {"deep": [1, 2.5, True, None, "blåbær \u2028"]},
        },
        "events": {"clicked": {"url": "https://shop.example/a?b=c&d=e", "step": "hello"}},
    },
]


@pytest.mark.parametrize("context", CONTEXTS)
def test_request_with_its_flow_context_matches_the_model(context: dict[str, Any]) -> None:
    fields = _request(variables={"variant": "a"}, context=context)
    assert request_out(**fields) == OutgoingRecord.of(MESSAGES_REQUESTED, MessageRequested(**fields))


def test_engine_transitions_keep_their_ids_and_held_kind() -> None:
    held = Transition(event="held_by_policy", at=NOW, step_id="hello", reason="quiet hours", variant="a")
    written = transition_record(
        held, workspace_id="shop", contact_id="c-1", flow_id="welcome", version=3, enrollment_id="e-1", index=2,
        now=NOW,
    )  # fmt: skip
    model = FlowTransition(
        event_id=stable_id("e-1", NOW.isoformat(), "2", "held_by_policy"), workspace_id="shop", contact_id="c-1",
        occurred_at=NOW, received_at=NOW, flow_id="welcome", flow_version=3, step_id="hello", kind="held",
        reason="quiet hours", variant="a",
    )  # fmt: skip
    assert written == OutgoingRecord.of(TRANSITIONS, model)
