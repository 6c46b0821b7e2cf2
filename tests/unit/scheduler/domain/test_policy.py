"""Workspace policies: caps, quiet hours, grace, suppression; transactional mail skips marketing rules."""

from __future__ import annotations

import heapq
import re
from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from services.scheduler.domain import FrequencyCap, QuietHours, SentMessage, WorkspacePolicy, judge_send
from tests.unit.scheduler.support import POLICY, contact

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)  # 12:00 in Oslo


def sent(*hours_ago: float) -> list[SentMessage]:
    return [SentMessage(at=NOW - timedelta(hours=h), channel="email", category="marketing") for h in hours_ago]


def test_frequency_cap_defers_until_the_window_frees() -> None:
    verdict = judge_send(POLICY, contact(), sent(12), "email", "marketing", NOW)
    assert verdict.outcome == "defer" and verdict.until == NOW + timedelta(hours=4)
    assert verdict.reason == "frequency cap 1 email per 16h"


def test_cap_that_ends_in_quiet_hours_waits_for_morning() -> None:
    verdict = judge_send(POLICY, contact(), sent(4), "email", "marketing", NOW)
    assert verdict.until == datetime(2025, 6, 3, 6, 0, tzinfo=UTC)
    assert verdict.reason == "frequency cap 1 email per 16h; quiet hours 21:00-08:00"


def test_transactional_messages_skip_marketing_rules() -> None:
    late = datetime(2025, 6, 2, 21, 30, tzinfo=UTC)
    fresh = contact(signed_up_at=late)
    assert judge_send(POLICY, fresh, sent(0), "email", "transactional", late).outcome == "send"


def test_quiet_hours_defer_to_their_end_in_the_contacts_zone() -> None:
    night = datetime(2025, 6, 2, 22, 0, tzinfo=UTC)  # midnight in Oslo
    verdict = judge_send(POLICY, contact(), [], "email", "marketing", night)
    assert verdict.until == datetime(2025, 6, 3, 6, 0, tzinfo=UTC)
    jakarta = judge_send(POLICY, contact(time_zone="Asia/Jakarta"), [], "email", "marketing", night)
    assert jakarta.until == datetime(2025, 6, 3, 1, 0, tzinfo=UTC)  # 08:00 WIB


def test_grace_delay_holds_the_first_message_after_signup() -> None:
    verdict = judge_send(POLICY, contact(signed_up_at=NOW - timedelta(minutes=3)), [], "email", "marketing", NOW)
    assert verdict.until == NOW + timedelta(minutes=7) and "grace" in (verdict.reason or "")


def test_first_month_cap_counts_from_signup() -> None:
    joined = NOW - timedelta(days=10)
    five = [SentMessage(at=joined + timedelta(days=d), channel="email", category="marketing") for d in range(5)]
    verdict = judge_send(POLICY, contact(signed_up_at=joined), five, "email", "marketing", NOW)
    assert verdict.until == joined + timedelta(days=30)


def test_suppressed_contacts_get_nothing_they_should_not() -> None:
    assert judge_send(POLICY, contact(status="erased"), [], "email", "transactional", NOW).outcome == "suppress"
    assert judge_send(POLICY, contact(status="bounced"), [], "email", "transactional", NOW).outcome == "suppress"
    assert judge_send(POLICY, contact(status="bounced"), [], "sms", "marketing", NOW).outcome == "send"
    assert judge_send(POLICY, contact(status="unsubscribed"), [], "email", "marketing", NOW).outcome == "suppress"
    assert judge_send(POLICY, contact(status="unsubscribed"), [], "email", "transactional", NOW).outcome == "send"
    topic = contact(unsubscribed_topics=frozenset({"offers"}))
    assert judge_send(POLICY, topic, [], "email", "marketing", NOW, topic="offers").outcome == "suppress"


@settings(max_examples=150, deadline=None)
@given(
    offsets=st.lists(st.integers(min_value=0, max_value=60 * 24 * 40), min_size=1, max_size=30),
    per_window=st.integers(min_value=1, max_value=3),
    window_hours=st.integers(min_value=1, max_value=48),
)
def test_frequency_cap_is_never_exceeded(offsets: list[int], per_window: int, window_hours: int) -> None:
    cap = FrequencyCap(channel="email", max_messages=per_window, window=f"{window_hours}h")
    first_month = FrequencyCap(channel="email", max_messages=5, window="30d", since_signup=True)
    policy = WorkspacePolicy(
        time_zone="Europe/Oslo", caps=(cap, first_month), quiet_hours=QuietHours(start="21:00", end="08:00")
    )
    who = contact(signed_up_at=NOW)
    queue = [(NOW + timedelta(minutes=m), i) for i, m in enumerate(offsets)]
    heapq.heapify(queue)
    ledger: list[SentMessage] = []
    for _ in range(10_000):
        if not queue:
            break
        at, index = heapq.heappop(queue)
        verdict = judge_send(policy, who, ledger, "email", "marketing", at)
        if verdict.outcome == "send":
            ledger.append(SentMessage(at=at, channel="email", category="marketing"))
        else:
            assert verdict.until is not None and verdict.until > at, "a hold never goes backwards"
            heapq.heappush(queue, (verdict.until, index))
    times = sorted(m.at for m in ledger)
    assert len(times) == len(offsets)
    for i, moment in enumerate(times):
        assert sum(1 for t in times[i:] if t < moment + cap.window) <= per_window
    assert sum(1 for t in times if t < NOW + first_month.window) <= 5


def test_a_policy_without_a_grace_delay_waits_the_documented_ten_minutes() -> None:
    assert WorkspacePolicy.model_validate({"time_zone": "Europe/Oslo"}).grace_after_signup == timedelta(minutes=10)
    schema = WorkspacePolicy.model_json_schema()["properties"]["grace_after_signup"]
    assert schema["default"] == "10m" and re.fullmatch(schema["pattern"], schema["default"])
