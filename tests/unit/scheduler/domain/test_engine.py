"""The pure engine: goals, waits, events, splits, pauses, live edits and deterministic ids."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import yaml

from services.scheduler.domain import (
    CancelTimer,
    EventReceived,
    Flow,
    TimerFired,
    advance,
    load_flow,
    migrate,
    pause,
    resume,
    start,
)
from services.scheduler.domain.actions import Decision
from tests.unit.scheduler.support import contact, event

NOW = datetime(2025, 6, 2, 10, 0, tzinfo=UTC)
FLOW = """
id: demo
name: Demo
triggers: [{type: event, event: signup}]
goals: [{id: bought, event: purchase, where: event.total > 0}]
steps:
  - {id: hello, type: send, template: hello}
  - {id: opened, type: wait_for, event: message_opened, of_step: hello, timeout: 2d,
     on_event: thanks, on_timeout: nudge}
  - {id: nudge, type: send, template: nudge, next: end}
  - {id: thanks, type: send, template: thanks}
  - {id: end, type: exit}
"""


def flow(text: str = FLOW) -> Flow:
    return load_flow(text, "demo.yaml")


def begin(text: str = FLOW) -> Decision:
    return start(flow(text), contact(), NOW, "e-1", trigger=event("signup", NOW))


def fire(decision: Decision, text: str = FLOW, at: datetime | None = None) -> Decision:
    waiting = decision.state.waiting
    assert waiting is not None
    return advance(flow(text), decision.state, TimerFired(timer_id=waiting.timer_id), at or waiting.until, contact())


def opened(decision: Decision, step: str, *, machine: bool = False, at: datetime = NOW) -> Decision:
    message = decision.state.messages[step]
    open_event = event("message_opened", at).model_copy(update={"message_id": message, "machine": machine})
    return advance(flow(), decision.state, EventReceived(event=open_event), at, contact())


def test_purchase_goal_ends_flow_wherever_the_contact_is() -> None:
    decision = begin()
    done = advance(flow(), decision.state, EventReceived(event=event("purchase", NOW, total=10)), NOW, contact())
    assert done.state.status == "converted"
    assert [(t.event, t.reason) for t in done.transitions] == [("goal_reached", "bought"), ("exited", "goal bought")]
    assert any(isinstance(a, CancelTimer) for a in done.actions)


def test_goal_filter_must_match() -> None:
    decision = begin()
    free = advance(flow(), decision.state, EventReceived(event=event("purchase", NOW, total=0)), NOW, contact())
    assert free.state.active and free.actions == ()


def test_open_of_the_awaited_message_takes_the_event_path() -> None:
    after = opened(begin(), "hello")
    assert [m.template for m in after.messages] == ["thanks"]
    assert after.state.status == "completed"


def test_machine_opens_are_ignored_by_default() -> None:
    after = opened(begin(), "hello", machine=True)
    assert after.actions == () and after.state.waiting is not None


def test_timeout_takes_the_timeout_path() -> None:
    after = fire(begin())
    assert [m.template for m in after.messages] == ["nudge"]


def test_stale_or_unknown_timer_changes_nothing() -> None:
    decision = begin()
    after = advance(flow(), decision.state, TimerFired(timer_id="e-1:t99"), NOW + timedelta(days=9), contact())
    assert after.state == decision.state and after.actions == ()


def test_unsubscribe_ends_marketing_flow() -> None:
    decision = begin()
    after = advance(flow(), decision.state, EventReceived(event=event("unsubscribed", NOW)), NOW, contact())
    assert after.state.status == "exited" and after.state.exit_reason == "unsubscribed"


def test_unsubscribe_does_not_end_transactional_flow() -> None:
    text = FLOW.replace("name: Demo", "name: Demo\ncategory: transactional")
    decision = begin(text)
    after = advance(flow(text), decision.state, EventReceived(event=event("unsubscribed", NOW)), NOW, contact())
    assert after.state.active


def test_message_ids_are_deterministic_and_unique_per_step() -> None:
    first, again = begin(), begin()
    assert first.messages[0].message_id == again.messages[0].message_id
    other = start(flow(), contact(), NOW, "e-2", number=2)
    assert other.messages[0].message_id != first.messages[0].message_id


def test_paused_enrollment_remembers_due_timer_and_resumes_it() -> None:
    decision = begin()
    paused = replace(decision, state=pause(decision.state))
    during = fire(paused)
    assert during.actions == () and during.state.due_while_paused
    later = NOW + timedelta(days=5)
    resumed = resume(during.state, later)
    assert resumed.actions[0].kind == "schedule_timer" and resumed.actions[0].at == later
    assert [m.template for m in fire(resumed, at=later).messages] == ["nudge"]


def test_split_is_sticky_and_roughly_weighted() -> None:
    text = """
id: ab
name: AB
triggers: [{type: api}]
steps:
  - id: s
    type: split
    variants: [{id: a, weight: 75, next: a}, {id: b, weight: 25, next: b}]
  - {id: a, type: send, template: a, next: done}
  - {id: b, type: send, template: b, next: done}
  - {id: done, type: exit}
"""
    chosen = [start(flow(text), contact(id=f"c{i}"), NOW, f"e{i}").messages[0].template for i in range(400)]
    again = [start(flow(text), contact(id=f"c{i}"), NOW, f"x{i}").messages[0].template for i in range(400)]
    assert chosen == again
    assert 250 < chosen.count("a") < 350


def test_walk_stops_a_runaway_loop() -> None:
    text = """
id: loop
name: Loop
triggers: [{type: api}]
steps:
  - {id: a, type: update_contact, add_tags: [x], next: b}
  - {id: b, type: update_contact, remove_tags: [x], next: a}
"""
    flow_with_loop = Flow.model_validate_json(flow_model_json(text))
    decision = start(flow_with_loop, contact(), NOW, "e-1")
    assert decision.state.status == "exited" and "loop" in (decision.state.exit_reason or "")


def flow_model_json(text: str) -> str:
    """Bypass validation (which rejects the loop) to prove the engine guards on its own."""
    return Flow.model_validate(yaml.safe_load(text)).model_dump_json(by_alias=True)


def test_live_edit_moves_enrollment_to_new_version_at_the_same_step() -> None:
    decision = begin()
    edited = flow(FLOW.replace("template: nudge", "template: nudge-v2")).model_copy(update={"version": 2})
    moved = migrate(decision.state, edited)
    assert moved.flow_version == 2
    after = advance(edited, moved, TimerFired(timer_id=moved.waiting.timer_id), NOW + timedelta(days=2), contact())  # type: ignore[union-attr]
    assert [m.template for m in after.messages] == ["nudge-v2"]


def test_live_edit_without_the_current_step_keeps_the_old_version() -> None:
    decision = begin()
    edited = flow(FLOW.replace("id: opened", "id: waiting").replace("of_step: hello", "of_step: hello"))
    assert migrate(decision.state, edited.model_copy(update={"version": 2})).flow_version == 1


def test_update_contact_is_seen_by_later_branches_in_the_same_walk() -> None:
    text = """
id: seg
name: Seg
triggers: [{type: api}]
steps:
  - {id: tag, type: update_contact, set: {level: pro}, add_tags: [vip]}
  - id: b
    type: branch
    conditions: [{when: '"vip" in contact.tags && contact.attributes.level == "pro"', next: vip}]
    else: plain
  - {id: vip, type: send, template: vip, next: done}
  - {id: plain, type: send, template: plain, next: done}
  - {id: done, type: exit}
"""
    assert [m.template for m in start(flow(text), contact(), NOW, "e").messages] == ["vip"]
