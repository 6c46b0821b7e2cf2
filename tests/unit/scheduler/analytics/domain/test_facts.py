"""Message facts: unique counts, any arrival order, and no double counting on replay."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from typing import Any

from services.scheduler.analytics.domain.facts import (
    CounterKey,
    MessageFacts,
    changes,
    fold_engagement,
    fold_request,
    fold_status,
)
from services.scheduler.analytics.domain.report_models import Counts
from shared.contract import Engagement, MessageRequested, MessageStatus

T0 = datetime(2025, 6, 2, 8, 0, tzinfo=UTC)
BASE: dict[str, Any] = {"workspace_id": "w", "contact_id": "c", "received_at": T0}
REQUEST = MessageRequested(
    event_id="m1", occurred_at=T0, channel="email", template_id="hello", flow_id="f", flow_version=2,
    step_id="s", variables={"variant": "b"}, **BASE,
)  # fmt: skip
SENT = MessageStatus(event_id="st1", message_id="m1", status="sent", channel="email", occurred_at=T0, **BASE)


def engagement(n: int, kind: str = "opened", machine: bool = False) -> Engagement:
    return Engagement(
        event_id=f"e{n}", message_id="m1", kind=kind, machine=machine, url="https://shop.example/x" if kind == "clicked"
        else None, occurred_at=T0 + timedelta(hours=n), flow_id="f", step_id="s", **BASE,
    )  # fmt: skip


def fold(facts: MessageFacts, record: Any) -> MessageFacts:
    if isinstance(record, MessageRequested):
        return fold_request(facts, record)
    if isinstance(record, MessageStatus):
        return fold_status(facts, record)
    return fold_engagement(facts, record)


def totals(records: list[Any]) -> dict[CounterKey, Counter[str]]:
    facts = MessageFacts("w", "m1", "c")
    found: dict[CounterKey, Counter[str]] = {}
    for record in records:
        after = fold(facts, record)
        for key, delta in changes(facts, after).items():
            found.setdefault(key, Counter()).update(delta)
        facts = after
    return {key: +counts for key, counts in found.items() if +counts}


RECORDS = [REQUEST, SENT, engagement(1), engagement(2), engagement(3, "clicked"), engagement(4, machine=True)]
EXPECTED = {
    ("w", "f", 2, "s", "b", date(2025, 6, 2)): Counter(
        requested=1, sent=1, delivered=1, opened=1, clicked=1, machine_opened=1
    )
}


def test_two_opens_of_one_message_count_one_unique_open_and_machine_opens_apart() -> None:
    assert totals(RECORDS) == EXPECTED


def test_any_arrival_order_gives_the_same_counts() -> None:
    for order in itertools.permutations(RECORDS):
        assert totals(list(order)) == EXPECTED


def test_nothing_counts_before_the_request_says_which_flow_version_and_variant() -> None:
    assert totals([SENT, engagement(1)]) == {}


def test_a_bounce_after_sending_takes_the_message_out_of_delivered() -> None:
    bounce = SENT.model_copy(update={"event_id": "st2", "status": "bounced", "occurred_at": T0 + timedelta(minutes=5)})
    counts = totals([REQUEST, SENT, bounce])
    assert counts == {("w", "f", 2, "s", "b", date(2025, 6, 2)): Counter(requested=1, sent=1, bounced=1)}


def test_an_email_sent_without_the_pixel_counts_its_opens_unknown_in_any_order_until_it_bounces() -> None:
    untracked = SENT.model_copy(update={"opens_tracked": False})
    bounced = SENT.model_copy(update={"event_id": "st2", "status": "bounced", "occurred_at": T0 + timedelta(hours=1)})
    key = ("w", "f", 2, "s", "b", date(2025, 6, 2))
    for order in itertools.permutations([REQUEST, untracked, untracked]):
        assert totals(list(order)) == {key: Counter(requested=1, sent=1, delivered=1, opens_unknown=1)}
    assert totals([REQUEST, untracked, bounced]) == {key: Counter(requested=1, sent=1, bounced=1)}
    tracked = SENT.model_copy(update={"opens_tracked": True})
    assert totals([REQUEST, tracked]) == {key: Counter(requested=1, sent=1, delivered=1)}


def test_the_open_rate_is_over_the_delivered_emails_that_carried_the_pixel() -> None:
    assert Counts(delivered=10, opened=3, opens_unknown=4).open_rate == 0.5
    assert Counts(delivered=4, opened=0, opens_unknown=4).open_rate == 0.0
    assert Counts(delivered=10, clicked=2, opens_unknown=4).click_rate == 0.2
