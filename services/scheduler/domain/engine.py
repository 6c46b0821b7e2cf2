"""The pure journey engine: (flow, state, input, now, contact, policy, ledger) -> Decision.

No clock, no I/O: the caller stores `Decision.state`, carries out `Decision.actions` and calls
again when an event arrives or a scheduled timer fires. Replaying the same call gives the same answer.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from .actions import CancelTimer, Decision, ScheduleTimer, Transition
from .contact import MESSAGE_DELIVERED, MESSAGE_OUTCOMES, MESSAGE_SKIPPED, ContactView, Event, message_value
from .flow import Flow
from .local_time import as_utc
from .matching import awaited, forced_exit, reached_goal
from .policy import SentMessage, WorkspacePolicy
from .state import EnrollmentState
from .steps import NotifyStep, SendStep, WaitForStep
from .walk import PARKED, Walk


class EventReceived(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["event"] = "event"
    event: Event


class TimerFired(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: Literal["timer"] = "timer"
    timer_id: str


Input = Annotated[EventReceived | TimerFired, Field(discriminator="kind")]
NO_POLICY = WorkspacePolicy(grace_after_signup=timedelta(0))  # no rules at all: what a bare walk or test uses


def start(
    flow: Flow,
    contact: ContactView,
    now: datetime,
    enrollment_id: str,
    *,
    number: int = 1,
    trigger: Event | None = None,
    policy: WorkspacePolicy = NO_POLICY,
    ledger: Sequence[SentMessage] = (),
) -> Decision:
    """Enroll a contact (after `decide_entry` said yes) and walk until the first wait."""
    state = EnrollmentState(
        enrollment_id=enrollment_id,
        workspace_id=contact.workspace_id,
        contact_id=contact.id,
        flow_id=flow.id,
        flow_version=flow.version,
        number=number,
        entered_at=as_utc(now),
        trigger_event=trigger.model_dump(mode="json") if trigger else None,
    )
    walk = Walk(flow, state, contact, now, policy, list(ledger))
    walk.record("entered", reason=trigger.type if trigger else None)
    walk.run_from(flow.first_step_id)
    return Decision(state=walk.state, actions=tuple(walk.actions))


def advance(
    flow: Flow,
    state: EnrollmentState,
    received: EventReceived | TimerFired,
    now: datetime,
    contact: ContactView,
    policy: WorkspacePolicy = NO_POLICY,
    ledger: Sequence[SentMessage] = (),
) -> Decision:
    """Move an enrollment forward on an event or a timer. `flow` must be the version in `state`.

    Stale or duplicate timers and events that concern nobody return the state unchanged and no actions.
    """
    if flow.id != state.flow_id or flow.version != state.flow_version:
        raise ValueError(f"enrollment is on {state.flow_id} v{state.flow_version}, not {flow.id} v{flow.version}")
    if not state.active:
        return Decision(state=state)
    walk = Walk(flow, state, contact, now, policy, list(ledger))
    if isinstance(received, EventReceived):
        _on_event(walk, received.event)
    else:
        _on_timer(walk, received.timer_id)
    return Decision(state=walk.state, actions=tuple(walk.actions))


def _cancel_waiting(walk: Walk) -> None:
    if walk.state.waiting is not None:
        walk.actions.append(CancelTimer(timer_id=walk.state.waiting.timer_id))


def _on_event(walk: Walk, event: Event) -> None:
    flow, state = walk.flow, walk.state
    refused: list[str] = []  # conditions too costly for this event: they count as false, and say so
    goal = reached_goal(flow, event, walk.contact, walk.now, refused)
    for why in refused:
        walk.record("failed", state.step_id, why)
    if goal is not None:
        _cancel_waiting(walk)
        walk.record("goal_reached", state.step_id, goal.id)
        walk.finish("converted", f"goal {goal.id}", state.step_id)
        return
    reason = forced_exit(flow, event, walk.contact)
    if reason is not None:
        _cancel_waiting(walk)
        walk.finish("exited", reason, state.step_id)
        return
    if event.type in MESSAGE_OUTCOMES:
        _on_outcome(walk, event)
        return
    waiting = state.waiting
    if state.paused or waiting is None or waiting.kind != "wait_for":
        return
    step = flow.step(waiting.step_id)
    refused.clear()
    matched = isinstance(step, WaitForStep) and awaited(step, event, state, walk.contact, walk.now, refused)
    for why in refused:
        walk.record("failed", waiting.step_id, why)
    if isinstance(step, WaitForStep) and matched:
        _cancel_waiting(walk)
        # Later messages may use what the contact did here: `events.<step id>` (a click's url, an order's lines).
        received = {**walk.state.received, step.id: message_value(event.model_dump(mode="json"))}
        walk.state = walk.state.evolve(waiting=None, received=received)
        walk.run_from(step.on_event)


def _on_outcome(walk: Walk, event: Event) -> None:
    """A message of this enrollment was delivered, failed or skipped (the sender's report).

    A notify step waiting for its webhook goes on to `next` or `on_failure`; a message skipped for
    missing data ends the enrollment when the flow says `missing_data: exit`. The outcome itself is
    recorded on the contact's timeline by the service, whether or not the enrollment still runs."""
    state, waiting = walk.state, walk.state.waiting
    if event.message_id is None or event.message_id not in state.messages.values():
        return
    if waiting is not None and waiting.kind == "outcome" and state.messages.get(waiting.step_id) == event.message_id:
        step = walk.flow.step(waiting.step_id)
        if state.paused or not isinstance(step, NotifyStep):
            return
        _cancel_waiting(walk)
        walk.state = walk.state.evolve(waiting=None)
        if event.type == MESSAGE_DELIVERED or step.on_failure is None:
            walk.continue_after(step)
        else:
            walk.run_from(step.on_failure)
        return
    if event.type == MESSAGE_SKIPPED and event.data.get("missing") and walk.flow.missing_data == "exit":
        _cancel_waiting(walk)
        walk.finish("exited", str(event.data.get("reason") or "missing data"), state.step_id)


def _on_timer(walk: Walk, timer_id: str) -> None:
    waiting = walk.state.waiting
    if waiting is None or waiting.timer_id != timer_id:
        return
    if walk.state.paused:
        walk.state = walk.state.evolve(due_while_paused=True)
        return
    if walk.now < as_utc(waiting.until):
        # Fired early (clock skew): ask again for the same instant rather than act too soon.
        walk.actions.append(ScheduleTimer(timer_id=timer_id, at=waiting.until, step_id=waiting.step_id))
        return
    step = walk.flow.step(waiting.step_id)
    walk.state = walk.state.evolve(waiting=None)
    if step is None:
        walk.finish("exited", f"step {waiting.step_id} no longer exists", waiting.step_id)
    elif waiting.kind == "wait_for" and isinstance(step, WaitForStep):
        walk.run_from(step.on_timeout)
    elif waiting.kind == "outcome" and isinstance(step, NotifyStep):
        walk.record("failed", step.id, f"no outcome from the webhook within {_duration(step.timeout)}")
        walk.run_from(step.on_failure or walk.flow.following(step))
    elif waiting.kind in ("policy", "best_time") and isinstance(step, SendStep):
        following = walk.send(step, timed=True)
        if following != PARKED and walk.state.active:
            walk.run_from(following)
    else:
        walk.continue_after(step)


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes % 1440 == 0 and minutes:
        return f"{minutes // 1440}d"
    if minutes % 60 == 0 and minutes:
        return f"{minutes // 60}h"
    return f"{minutes}m" if minutes else f"{int(span.total_seconds())}s"


def pause(state: EnrollmentState) -> EnrollmentState:
    """Hold the enrollment where it is; timers that fire meanwhile are remembered, not acted on."""
    return state.evolve(paused=True)


def resume(state: EnrollmentState, now: datetime) -> Decision:
    """Lift a pause; a timer that came due while paused is re-armed for `now` so nothing is lost."""
    resumed = state.evolve(paused=False, due_while_paused=False)
    waiting = state.waiting
    if not state.active or waiting is None or not state.due_while_paused:
        return Decision(state=resumed)
    at = max(as_utc(now), as_utc(waiting.until))
    resumed = resumed.evolve(waiting=waiting.model_copy(update={"until": at}))
    return Decision(
        state=resumed,
        actions=(
            ScheduleTimer(timer_id=waiting.timer_id, at=at, step_id=waiting.step_id),
            Transition(event="step_reached", at=as_utc(now), step_id=waiting.step_id, reason="resumed"),
        ),
    )
