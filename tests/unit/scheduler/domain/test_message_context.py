"""What the engine keeps for messages: the trigger event and the events wait_for steps received, and what a
message's fate does to the enrollment (a notify step's on_failure, `missing_data: exit`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.scheduler.domain import (
    EnrollmentState,
    EventReceived,
    Notify,
    RequestMessage,
    TimerFired,
    advance,
    load_flow,
    start,
)
from services.scheduler.domain.contact import (
    MESSAGE_DELIVERED,
    MESSAGE_FAILED,
    MESSAGE_SKIPPED,
    Event,
    message_value,
)
from tests.unit.scheduler.support import contact, event

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
CART = event(
    "cart_abandoned", NOW, cart_url="https://shop.example/cart/7", currency="NOK", value="10.00", cart_id=None,
    items=[{"product_id": "p-1", "name": "Cup", "url": None}], products=[{"id": "p-1"}],
    consent={"ip": "192.0.2.1"}, email="kari@example.com",
)  # fmt: skip
FLOW = load_flow("""
id: calls
name: Calls
missing_data: exit
triggers: [{type: event, event: form_submitted}]
steps:
  - {id: guide, type: send, template: guide}
  - {id: clicked, type: wait_for, event: message_clicked, of_step: guide, timeout: 2d,
     on_event: tell-sales, on_timeout: done}
  - {id: tell-sales, type: notify, url: "https://crm.example/hook", payload: {text: "{{ contact.id }}"},
     on_failure: tag, timeout: 1h, next: thanks}
  - {id: tag, type: update_contact, add_tags: [call-by-hand], next: done}
  - {id: thanks, type: send, template: thanks, next: later}
  - {id: later, type: wait, duration: 1d}
  - {id: done, type: exit}
""")


def _outcome(kind: str, message_id: str, **data: object) -> EventReceived:
    return EventReceived(event=Event(id=f"{kind}-1", type=kind, at=NOW, message_id=message_id, data=data))


def _at_notify() -> tuple[EnrollmentState, str]:
    begun = start(FLOW, contact(), NOW, "e-1", trigger=event("form_submitted", NOW, form="pricing"))
    guide = begun.state.messages["guide"]
    click = Event(id="k", type="message_clicked", at=NOW, message_id=guide, data={"url": "https://x.example/a"})
    waiting = advance(FLOW, begun.state, EventReceived(event=click), NOW, contact())
    [notify] = [a for a in waiting.actions if isinstance(a, Notify)]
    return waiting.state, notify.notification_id


def test_a_message_sees_the_trigger_event_without_personal_or_empty_values() -> None:
    seen = message_value(CART.model_dump(mode="json"))
    assert seen["cart_url"] == "https://shop.example/cart/7" and seen["type"] == "cart_abandoned"
    assert seen["items"] == [{"product_id": "p-1", "name": "Cup"}]
    assert not {"consent", "email", "products", "cart_id"} & set(seen)


def test_the_event_a_wait_for_received_is_kept_for_later_messages() -> None:
    state, _ = _at_notify()
    assert state.received["clicked"]["url"] == "https://x.example/a"


def test_a_notify_with_on_failure_waits_for_its_outcome() -> None:
    state, notification = _at_notify()
    assert state.waiting is not None and state.waiting.kind == "outcome"
    delivered = advance(FLOW, state, _outcome(MESSAGE_DELIVERED, notification), NOW, contact())
    assert [a.template for a in delivered.actions if isinstance(a, RequestMessage)] == ["thanks"]


def test_a_refused_webhook_takes_the_on_failure_path() -> None:
    state, notification = _at_notify()
    failed = advance(FLOW, state, _outcome(MESSAGE_FAILED, notification, reason="HTTP 403"), NOW, contact())
    assert failed.state.status == "completed" and "tag" in failed.state.visits


def test_no_outcome_in_time_is_a_failure_with_its_reason() -> None:
    state, _ = _at_notify()
    assert state.waiting is not None
    timer = state.waiting.timer_id
    later = NOW + timedelta(hours=1)
    fired = advance(FLOW, state, TimerFired(timer_id=timer), later, contact())
    assert [(t.event, t.reason) for t in fired.transitions if t.event == "failed"] == [
        ("failed", "no outcome from the webhook within 1h")
    ]
    assert "tag" in fired.state.visits


def test_missing_data_exit_ends_the_enrollment_when_its_message_is_skipped() -> None:
    begun = start(FLOW, contact(), NOW, "e-1", trigger=event("form_submitted", NOW, form="pricing"))
    guide = begun.state.messages["guide"]
    reason = "missing data: event.document_url (template guide, html)"
    skipped = advance(FLOW, begun.state, _outcome(MESSAGE_SKIPPED, guide, missing=True, reason=reason), NOW, contact())
    assert skipped.state.status == "exited" and skipped.state.exit_reason == reason
    other = advance(FLOW, begun.state, _outcome(MESSAGE_SKIPPED, "someone-else", missing=True), NOW, contact())
    assert other.state == begun.state
