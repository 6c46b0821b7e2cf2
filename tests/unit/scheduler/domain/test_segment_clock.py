"""The segment clock: the next instant a condition's verdict can change with time alone."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.scheduler.domain import Segment
from services.scheduler.domain.facts import CustomerFacts
from services.scheduler.domain.segment_clock import STEP, next_check, next_flip
from tests.unit.scheduler.support import contact, event

NOW = datetime(2026, 6, 2, 10, 0, tzinfo=UTC)
LAPSED = "contact.facts.last_purchase_at < now - duration('120d')"


def test_a_lapse_is_due_the_moment_the_last_purchase_is_120_days_old_and_not_again_after() -> None:
    bought = NOW - timedelta(days=100)
    buyer = contact(facts=CustomerFacts(last_purchase_at=bought, order_count=1))
    assert next_flip(LAPSED, buyer, NOW) == bought + timedelta(days=120) + STEP
    assert next_flip(LAPSED, buyer, bought + timedelta(days=121)) is None  # lapsed for good, until a purchase


def test_a_condition_without_time_or_a_contact_without_the_fact_needs_no_recheck() -> None:
    assert next_flip('"vip" in contact.tags', contact(), NOW) is None
    assert next_flip(LAPSED, contact(), NOW) is None


def test_equality_bounds_flip_at_the_boundary_and_seconds_durations_count() -> None:
    seen = NOW - timedelta(seconds=3)
    visitor = contact(facts=CustomerFacts(last_seen_at=seen))
    assert (
        next_flip("contact.facts.last_seen_at <= now - duration('10s')", visitor, NOW)
        == seen + timedelta(seconds=10) + STEP
    )


def test_engagement_cools_after_30_days_and_history_windows_expire() -> None:
    opened = NOW - timedelta(days=10)
    reader = contact(facts=CustomerFacts(last_open_at=opened))
    assert next_flip('contact.facts.engagement == "engaged"', reader, NOW) == opened + timedelta(days=30) + STEP
    buyer = contact(history=(event("purchase", NOW - timedelta(days=5)), event("purchase", NOW - timedelta(days=2))))
    repeat = 'history.count("purchase", "7d") >= 2'
    assert next_flip(repeat, buyer, NOW) == NOW - timedelta(days=5) + timedelta(days=7) + STEP


def test_the_soonest_flip_of_all_segments_is_the_next_check() -> None:
    bought, seen = NOW - timedelta(days=100), NOW - timedelta(days=1)
    who = contact(facts=CustomerFacts(last_purchase_at=bought, last_seen_at=seen))
    segments = [
        Segment(id="lapsed", name="Lapsed", condition=LAPSED),
        Segment(id="recent", name="Recent", condition="contact.facts.last_seen_at > now - duration('2d')"),
        Segment(id="vip", name="VIP", condition='"vip" in contact.tags'),
    ]
    assert next_check(segments, who, NOW) == seen + timedelta(days=2) + STEP
    assert next_check(segments[2:], who, NOW) is None


def test_a_verdict_already_judged_is_taken_as_now() -> None:
    bought = NOW - timedelta(days=100)
    buyer = contact(facts=CustomerFacts(last_purchase_at=bought))
    lapsed = Segment(id="lapsed", name="Lapsed", condition=LAPSED)
    assert next_check([lapsed], buyer, NOW, frozenset()) == bought + timedelta(days=120) + STEP
    # Told it holds now (it does not), no later instant differs from that: the claim is what is compared.
    assert next_check([lapsed], buyer, NOW, frozenset({"lapsed"})) is None
