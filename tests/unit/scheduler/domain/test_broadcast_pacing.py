"""The broadcast throttle, the policy a recipient is judged by, and progress with its ETA."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from services.scheduler.domain import ContactView, Event, FrequencyCap, QuietHours, SentMessage, WorkspacePolicy
from services.scheduler.domain.broadcast_pacing import allowance, best_moment, domain_room, judge_recipient, progress
from services.scheduler.domain.broadcasts import Broadcast

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
NEWS = Broadcast(id="news", name="News", templates=("news",), audience={"kind": "marketing"})  # type: ignore[arg-type]
SUBSCRIBED = ContactView(id="c1", subscriptions={"*": "subscribed"}, time_zone="Europe/Oslo")


def test_without_a_throttle_a_round_takes_a_whole_batch() -> None:
    assert allowance(None, 0.0, None, NOW, 500).count == 500


def test_the_throttle_starts_with_a_minute_and_earns_per_second() -> None:
    first = allowance(3600, 0.0, None, NOW, 500)
    assert first.count == 60  # a minute's worth at one a second
    later = allowance(3600, first.tokens - 60, NOW, NOW + timedelta(seconds=10), 500)
    assert later.count == 10


def test_an_idle_throttle_never_holds_more_than_a_minute() -> None:
    assert allowance(3600, 0.0, NOW, NOW + timedelta(hours=5), 500).count == 60


def test_a_recipient_is_judged_by_consent_as_a_flow_message_is() -> None:
    gone = SUBSCRIBED.model_copy(update={"subscriptions": {"*": "unsubscribed"}})
    verdict = judge_recipient(NEWS, WorkspacePolicy(), gone, [], NOW, may_exceed_caps=False)
    assert (verdict.outcome, verdict.reason) == ("suppress", "contact unsubscribed")
    topical = NEWS.model_copy(update={"topic": "recipes"})
    verdict = judge_recipient(topical, WorkspacePolicy(), SUBSCRIBED, [], NOW, may_exceed_caps=False)
    assert (verdict.outcome, verdict.reason) == ("suppress", "no consent to recipes")


def test_quiet_hours_put_a_recipient_off_to_their_morning() -> None:
    quiet = WorkspacePolicy(quiet_hours=QuietHours(start=time(11, 0), end=time(15, 0)))
    verdict = judge_recipient(NEWS, quiet, SUBSCRIBED, [], NOW, may_exceed_caps=False)
    assert verdict.outcome == "defer" and verdict.until == datetime(2026, 12, 2, 14, 0, tzinfo=UTC)


def test_a_cap_holds_a_broadcast_unless_the_workspace_lets_broadcasts_pass() -> None:
    capped = WorkspacePolicy(caps=(FrequencyCap(max_messages=1, window=timedelta(days=1)),))
    ledger = [SentMessage(at=NOW - timedelta(hours=1), channel="email", category="marketing", flow_id="welcome")]
    held = judge_recipient(NEWS, capped, SUBSCRIBED, ledger, NOW, may_exceed_caps=False)
    assert held.outcome == "defer" and held.until == NOW + timedelta(hours=23)
    assert judge_recipient(NEWS, capped, SUBSCRIBED, ledger, NOW, may_exceed_caps=True).outcome == "send"


def test_progress_counts_by_state_and_reason_with_an_eta_from_the_throttle() -> None:
    counts = {("requested", None): 40, ("held", "contact unsubscribed"): 2, ("waiting", None): 3600,
              ("waiting", "quiet hours 21:00-08:00"): 10}  # fmt: skip
    found = progress(counts, NOW + timedelta(minutes=5), 3600, NOW)
    assert (found.resolved, found.sent, found.remaining) == (3652, 40, 3610)
    assert found.held == {"contact unsubscribed": 2}
    assert found.waiting == {"due": 3600, "quiet hours 21:00-08:00": 10}
    assert found.eta == NOW + timedelta(hours=3610 / 3600)


def test_progress_eta_is_the_last_due_time_when_that_is_later() -> None:
    found = progress({("waiting", None): 5}, NOW + timedelta(hours=9), None, NOW)
    assert found.eta == NOW + timedelta(hours=9)
    assert progress({("requested", None): 5}, None, None, NOW).eta is None


def test_a_receiving_domain_gets_a_sixtieth_of_its_hour_a_minute_and_no_more_than_its_hour() -> None:
    domains = ["fresh.example", "busy.example", "spent.example", "quiet.example"]
    hour = {"busy.example": 30, "spent.example": 120, "quiet.example": 119}
    minute = {"busy.example": 1}
    room = domain_room(120, domains, hour, minute)
    # 120 an hour is 2 a minute: a fresh domain takes 2, one with 1 this minute 1 more, one whose hour is
    # spent none, and one with 1 left of its hour just that one.
    assert room == {"fresh.example": 2, "busy.example": 1, "spent.example": 0, "quiet.example": 1}
    assert domain_room(10, ["slow.example"], {}, {}) == {"slow.example": 1}  # at least one a minute


def test_a_throttle_per_receiving_domain_is_for_email_only() -> None:
    fields = {"id": "news", "name": "News", "templates": ["news"], "audience": {"kind": "marketing"}}
    assert Broadcast.model_validate({**fields, "per_domain_per_hour": 600}).per_domain_per_hour == 600
    with pytest.raises(ValidationError, match="per_domain_per_hour: only email goes to receiving domains"):
        Broadcast.model_validate({**fields, "channel": "sms", "per_domain_per_hour": 600})


def test_a_best_time_broadcast_goes_at_the_readers_own_evening_hour_within_the_window() -> None:
    oslo = ZoneInfo("Europe/Oslo")
    opened = [Event(id=f"o{n}", type="message_opened", at=datetime(2026, 11, 24 - 7 * n, 19, 20, tzinfo=oslo),
                    message_id=f"m{n}") for n in range(3)]  # fmt: skip  # Tuesdays at 19:20
    reader = ContactView(id="c1", subscriptions={"*": "subscribed"}, time_zone="Europe/Oslo", history=opened)
    window_end = datetime(2026, 12, 2, 22, 0, tzinfo=oslo)  # NOW is Wednesday 13:00 in Oslo
    assert best_moment(reader, NOW, oslo, window_end, {}).astimezone(oslo) == datetime(2026, 12, 2, 19, 0, tzinfo=oslo)
    # Nothing known of a newcomer, nor of the audience: the start of their window, which is now.
    newcomer = ContactView(id="c2", subscriptions={"*": "subscribed"}, time_zone="Europe/Oslo")
    assert best_moment(newcomer, NOW, oslo, window_end, {}) == NOW
