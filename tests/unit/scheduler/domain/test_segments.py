"""Segments: conditions checked when saved, membership judged on attributes and behaviour, changes as events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from services.scheduler.domain import Segment, decide_entry, load_flow, members_of, membership_events
from tests.unit.scheduler.support import contact, event

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
VIP = Segment(id="vip", name="VIPs", condition='"vip" in contact.tags')
REPEAT = Segment(id="repeat-buyers", name="Repeat buyers", condition='history.count("purchase", "365d") >= 2')
OSLO = Segment(id="oslo", name="Oslo", condition='contact.attributes.city == "Oslo"')


def test_a_condition_that_does_not_parse_or_names_unknown_things_is_refused() -> None:
    with pytest.raises(ValidationError, match="does not parse"):
        Segment(id="bad", name="Bad", condition="contact.tags ==")
    with pytest.raises(ValidationError, match="only contact, event, history and now exist"):
        Segment(id="bad", name="Bad", condition="order.total > 10")


def test_membership_follows_attributes_tags_and_behaviour() -> None:
    purchases = tuple(event("purchase", NOW - timedelta(days=d)) for d in (3, 40))
    buyer = contact(tags=frozenset({"vip"}), history=purchases, attributes={"city": "Bergen"})
    assert members_of([VIP, REPEAT, OSLO], buyer, NOW) == {"vip", "repeat-buyers"}
    # A condition on an attribute the contact lacks counts as false rather than failing.
    assert members_of([OSLO], contact(), NOW) == frozenset()


def test_changes_become_entered_and_left_events_with_stable_ids() -> None:
    changes = membership_events(frozenset({"vip", "oslo"}), frozenset({"vip", "repeat-buyers"}), NOW, "rec-1")
    assert [(e.type, e.data["segment"]) for e in changes] == [
        ("segment_left", "oslo"),
        ("segment_entered", "repeat-buyers"),
    ]
    assert changes == membership_events(frozenset({"vip", "oslo"}), frozenset({"vip", "repeat-buyers"}), NOW, "rec-1")


def test_segment_entry_starts_a_segment_triggered_flow_and_segments_are_readable_in_conditions() -> None:
    source = (
        "id: f\nname: F\ntriggers: [{type: segment_entered, segment: vip}]\n"
        "entry: {audience: '\"repeat-buyers\" in contact.segments'}\nsteps: [{id: e, type: exit}]\n"
    )
    flow = load_flow(source)
    entered = membership_events(frozenset(), frozenset({"vip", "repeat-buyers"}), NOW, "rec-2")
    vip_entry = next(e for e in entered if e.data["segment"] == "vip")
    member = contact(segments=frozenset({"vip", "repeat-buyers"}))
    assert decide_entry(flow, member, NOW, [], vip_entry).enter
    assert decide_entry(flow, contact(segments=frozenset({"vip"})), NOW, [], vip_entry).reason == "not in the audience"
