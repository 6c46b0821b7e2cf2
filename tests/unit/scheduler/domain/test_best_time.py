"""`at: best_time`: the contact's own hours first, then the workspace's audience hours, then now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from services.scheduler.domain import ContactView, Event, TimerFired, WorkspacePolicy, advance, load_flow, start
from services.scheduler.domain.best_time import best_send_time, hour_of_week

OSLO = ZoneInfo("Europe/Oslo")
NOW = datetime(2025, 6, 2, 8, 15, tzinfo=UTC)  # Monday 10:15 in Oslo
DAY = timedelta(hours=24)


def engaged(*local: str, kind: str = "message_opened", machine: bool = False) -> list[Event]:
    """Opens at local Oslo times like 'Tue 19:40' in earlier weeks."""
    days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    found = []
    for i, text in enumerate(local):
        day, clock = text.split()
        hour, minute = map(int, clock.split(":"))
        at = datetime(2025, 5, 5 + days.index(day), hour, minute, tzinfo=OSLO) - timedelta(weeks=i % 3)
        found.append(Event(id=f"e{i}", type=kind, at=at, message_id=f"m{i}", machine=machine))
    return found


def test_a_reader_who_opens_tuesday_evenings_gets_mail_tuesday_at_19_within_two_days() -> None:
    history = engaged("Tue 19:40", "Tue 19:05", "Mon 07:30")
    chosen = best_send_time(history, NOW, OSLO, 2 * DAY)
    assert chosen.astimezone(OSLO) == datetime(2025, 6, 3, 19, 0, tzinfo=OSLO)


def test_out_of_reach_weekdays_fall_back_to_the_same_hour_of_day() -> None:
    history = engaged("Fri 18:10", "Thu 18:50")
    chosen = best_send_time(history, NOW, OSLO, DAY)
    assert chosen.astimezone(OSLO) == datetime(2025, 6, 2, 18, 0, tzinfo=OSLO)


def test_the_current_hour_sends_at_once() -> None:
    history = engaged("Mon 10:20", "Mon 10:45")
    assert best_send_time(history, NOW, OSLO, DAY) == NOW


def test_machine_opens_are_ignored_and_the_audience_decides() -> None:
    history = engaged("Tue 03:00", "Tue 03:10", machine=True)
    audience = {hour_of_week(datetime(2025, 6, 2, 12, 30, tzinfo=UTC)): 40, 5: 3}
    chosen = best_send_time(history, NOW, OSLO, DAY, audience)
    assert chosen == datetime(2025, 6, 2, 12, 0, tzinfo=UTC)


def test_no_history_and_no_audience_sends_now() -> None:
    assert best_send_time([], NOW, OSLO, DAY) == NOW
    assert best_send_time([], NOW, OSLO, DAY, {}) == NOW


def test_clicks_count_like_opens_and_ties_go_to_the_sooner_hour() -> None:
    history = engaged("Mon 15:00", kind="message_clicked") + engaged("Mon 21:00")
    chosen = best_send_time(history, NOW, OSLO, DAY)
    assert chosen.astimezone(OSLO) == datetime(2025, 6, 2, 15, 0, tzinfo=OSLO)


FLOW = """
id: news
name: News
triggers: [{type: event, event: signup}]
steps:
  - {id: letter, type: send, template: letter, at: best_time, within: 2d}
"""


def test_the_engine_waits_for_the_best_time_and_quiet_hours_still_apply() -> None:
    flow = load_flow(FLOW, "news.yaml")
    reader = ContactView(id="c-1", workspace_id="shop", time_zone="Europe/Oslo", history=tuple(engaged("Mon 22:30")))
    policy = WorkspacePolicy(time_zone="Europe/Oslo", quiet_hours={"start": "22:00", "end": "07:00"})
    begun = start(flow, reader, NOW, "e-1", policy=policy)
    assert begun.messages == [] and begun.state.waiting is not None
    assert begun.state.waiting.kind == "best_time"
    assert begun.state.waiting.until.astimezone(OSLO) == datetime(2025, 6, 2, 22, 0, tzinfo=OSLO)
    # At 22:00 quiet hours hold it until 07:00; then it goes, once.
    held = advance(flow, begun.state, TimerFired(timer_id=begun.state.waiting.timer_id), begun.state.waiting.until,
                   reader, policy)  # fmt: skip
    assert held.messages == [] and held.state.waiting is not None and held.state.waiting.kind == "policy"
    morning = held.state.waiting.until
    assert morning.astimezone(OSLO) == datetime(2025, 6, 3, 7, 0, tzinfo=OSLO)
    sent = advance(flow, held.state, TimerFired(timer_id=held.state.waiting.timer_id), morning, reader, policy)
    assert [m.template for m in sent.messages] == ["letter"] and sent.messages[0].best_time
