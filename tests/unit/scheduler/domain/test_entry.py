"""Entry decisions: triggers, entry rules, audience filters and date triggers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from services.scheduler.domain import PastEnrollment, decide_entry, load_flow, next_date_entry
from tests.unit.scheduler.support import contact, event, example

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)


def flow(entry: str, trigger: str = "{type: event, event: signup, where: 'event.source == \"webinar-form\"'}") -> str:
    return f"id: f\nname: F\ntriggers: [{trigger}]\nentry: {entry}\nsteps: [{{id: e, type: exit}}]\n"


def test_event_filter_decides_who_enters() -> None:
    webinar = load_flow(flow("{frequency: once}"))
    assert decide_entry(webinar, contact(), NOW, [], event("signup", NOW, source="webinar-form")).enter
    other = decide_entry(webinar, contact(), NOW, [], event("signup", NOW, source="footer"))
    assert not other.enter and other.reason == "no trigger matches this event"


def test_once_ever_admits_a_contact_once() -> None:
    once = load_flow(flow("{frequency: once}"))
    past = [PastEnrollment(entered_at=NOW - timedelta(days=400))]
    assert not decide_entry(once, contact(), NOW, past, event("signup", NOW, source="webinar-form")).enter


def test_once_per_period_admits_again_after_the_period() -> None:
    monthly = load_flow(flow("{frequency: once_per_period, period: 30d}"))
    signup = event("signup", NOW, source="webinar-form")
    assert not decide_entry(
        monthly, contact(), NOW, [PastEnrollment(entered_at=NOW - timedelta(days=29))], signup
    ).enter
    again = decide_entry(monthly, contact(), NOW, [PastEnrollment(entered_at=NOW - timedelta(days=31))], signup)
    assert again.enter and again.number == 2


def test_never_two_live_enrollments_in_one_flow() -> None:
    always = load_flow(flow("{frequency: every_time}"))
    live = [PastEnrollment(entered_at=NOW, active=True)]
    assert decide_entry(always, contact(), NOW, live, event("signup", NOW, source="webinar-form")).reason == (
        "already in this flow"
    )


def test_audience_filter_and_suppression() -> None:
    vip = load_flow(flow("{frequency: every_time, audience: '\"vip\" in contact.tags'}"))
    signup = event("signup", NOW, source="webinar-form")
    assert decide_entry(vip, contact(tags=frozenset({"vip"})), NOW, [], signup).enter
    assert decide_entry(vip, contact(), NOW, [], signup).reason == "not in the audience"
    gone = contact(tags=frozenset({"vip"}), status="unsubscribed")
    assert decide_entry(vip, gone, NOW, [], signup).reason == "contact unsubscribed"


def test_segment_and_api_triggers() -> None:
    segment = load_flow(flow("{}", "{type: segment_entered, segment: lapsed}"))
    assert decide_entry(segment, contact(), NOW, [], event("segment_entered", NOW, segment="lapsed")).enter
    assert not decide_entry(segment, contact(), NOW, [], event("segment_entered", NOW, segment="vip")).enter
    api = load_flow(flow("{}", "{type: api}"))
    assert decide_entry(api, contact(), NOW, [], event("enroll_requested", NOW, flow_id="f")).enter


def test_a_click_on_one_broadcast_starts_its_follow_up_and_a_scanners_click_does_not() -> None:
    follow_up = load_flow(
        flow("{}", "{type: event, event: message_clicked, where: 'event.broadcast_id == \"spring-sale\"'}")
    )
    click = event("message_clicked", NOW, url="https://shop.example/sale", broadcast_id="spring-sale")
    assert decide_entry(follow_up, contact(), NOW, [], click).enter
    other = click.model_copy(update={"data": {**click.data, "broadcast_id": "winter-sale"}})
    assert not decide_entry(follow_up, contact(), NOW, [], other).enter
    scanner = click.model_copy(update={"machine": True})
    assert not decide_entry(follow_up, contact(), NOW, [], scanner).enter


def test_birthday_comes_due_at_nine_local_time_next_year_once_passed() -> None:
    who = contact(attributes={"birthday": "1988-05-17"}, time_zone="America/New_York")
    assert next_date_entry(example("birthday"), who, NOW) == datetime(2026, 5, 17, 13, 0, tzinfo=UTC)


def test_leap_day_birthday_is_celebrated_on_the_28th() -> None:
    who = contact(attributes={"birthday": "2000-02-29"})
    assert next_date_entry(example("birthday"), who, NOW) == datetime(2026, 2, 28, 8, 0, tzinfo=UTC)


def test_one_off_date_trigger_before_an_event() -> None:
    text = flow("{}", "{type: date, attribute: trial_ends_at, offset: -3d}")
    who = contact(attributes={"trial_ends_at": "2025-06-20T12:00:00Z"})
    assert next_date_entry(load_flow(text), who, NOW) == datetime(2025, 6, 17, 12, 0, tzinfo=UTC)
    assert next_date_entry(load_flow(text), who, datetime(2025, 6, 18, tzinfo=UTC)) is None
    assert next_date_entry(load_flow(text), contact(), NOW) is None
