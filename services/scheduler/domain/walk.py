"""The bounded walk through steps: runs until the enrollment parks on a wait or finishes.

A mutable `Walk` lives only for one call of the engine; it is how the step handlers share the
evolving state, contact and send ledger without threading a dozen values through each one.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any, Final

from .actions import Action, Notify, RequestMessage, ScheduleTimer, Transition, TransitionKind, UpdateContact
from .best_time import best_send_time
from .contact import ContactView, Event
from .expressions import holds, scope
from .flow import Flow
from .identity import message_id, pick_variant
from .local_time import as_utc, zone
from .policy import SentMessage, WorkspacePolicy, judge_send, marketing_consent
from .state import EnrollmentState, Waiting, WaitKind
from .steps import (
    BranchStep,
    ExitStep,
    NotifyStep,
    SendStep,
    SplitStep,
    Step,
    UpdateContactStep,
    WaitForStep,
    WaitStep,
)
from .waits import wait_target

MAX_STEPS_PER_WALK: Final = 200
PARKED: Final = "\x00parked"


class Walk:
    def __init__(
        self,
        flow: Flow,
        state: EnrollmentState,
        contact: ContactView,
        now: datetime,
        policy: WorkspacePolicy,
        ledger: list[SentMessage],
    ) -> None:
        self.flow, self.state, self.contact = flow, state, contact
        self.now, self.policy, self.ledger = as_utc(now), policy, ledger
        self.actions: list[Action] = []

    # -- records -----------------------------------------------------------------------------
    def record(self, event: TransitionKind, step_id: str | None = None, reason: str | None = None) -> None:
        self.actions.append(Transition(event=event, at=self.now, step_id=step_id, reason=reason, variant=self.variant))

    @property
    def variant(self) -> str | None:
        """The variant of the split this enrollment passed last, if any: it labels later records."""
        return next(reversed(self.state.variants.values()), None)

    def finish(self, status: str, reason: str, step_id: str | None = None) -> None:
        self.record("exited", step_id, reason)
        self.state = self.state.evolve(status=status, exit_reason=reason, waiting=None, step_id=None)

    def park(self, step_id: str, kind: WaitKind, until: datetime) -> str:
        count = self.state.timers_set + 1
        timer_id = f"{self.state.enrollment_id}:t{count}"
        waiting = Waiting(step_id=step_id, kind=kind, until=until, timer_id=timer_id)
        self.state = self.state.evolve(waiting=waiting, timers_set=count, step_id=step_id)
        self.actions.append(ScheduleTimer(timer_id=timer_id, at=until, step_id=step_id))
        return PARKED

    def occurrence(self, step_id: str) -> str:
        return f"{self.state.number}.{self.state.visits.get(step_id, 1)}"

    def trigger_event(self) -> Event | None:
        raw = self.state.trigger_event
        return Event.model_validate(raw) if raw else None

    # -- the loop ----------------------------------------------------------------------------
    def run_from(self, step_id: str | None) -> None:
        """Enter `step_id` and keep going until parked or finished; at most MAX_STEPS_PER_WALK steps."""
        for _ in range(MAX_STEPS_PER_WALK):
            if step_id is None:
                self.finish("completed", "completed")
                return
            step = self.flow.step(step_id)
            if step is None:
                self.finish("exited", f"step {step_id} no longer exists", step_id)
                return
            visits = {**self.state.visits, step.id: self.state.visits.get(step.id, 0) + 1}
            self.state = self.state.evolve(step_id=step.id, waiting=None, visits=visits)
            self.record("step_reached", step.id)
            step_id = self.execute(step)
            if step_id == PARKED or not self.state.active:
                return
        self.finish("exited", f"stopped after {MAX_STEPS_PER_WALK} steps without waiting; check for a loop")

    def continue_after(self, step: Step) -> None:
        self.run_from(self.flow.following(step))

    def execute(self, step: Step) -> str | None:
        """Run one step; answers the next step id, None to finish, or PARKED."""
        match step:
            case WaitStep():
                return self.wait(step)
            case SendStep():
                return self.send(step)
            case WaitForStep():
                return self.park(step.id, "wait_for", self.now + step.timeout)
            case BranchStep():
                context = scope(self.contact, self.trigger_event(), self.now, self.state.messages)
                chosen = next((c.next for c in step.conditions if holds(c.when, context)), step.else_)
                for reason in context.refused:  # counted as false, as a condition that fails to evaluate
                    self.record("failed", step.id, reason)
                return chosen
            case SplitStep():
                return self.split(step)
            case UpdateContactStep():
                return self.update_contact(step)
            case NotifyStep():
                return self.notify(step)
            case ExitStep():
                self.finish("completed", step.reason, step.id)
                return None
        raise AssertionError(f"unhandled step {step!r}")  # pragma: no cover - the union is closed

    # -- step handlers -----------------------------------------------------------------------
    def wait(self, step: WaitStep) -> str | None:
        target = wait_target(step, self.contact, self.now, self.policy.time_zone)
        if target is None:
            return step.on_past or self.flow.following(step)
        if target <= self.now:
            return self.flow.following(step)
        return self.park(step.id, "wait", target)

    def split(self, step: SplitStep) -> str:
        """Sticky per contact; a declared winner takes everyone entering after it was declared."""
        ids = [v.id for v in step.variants]
        taken = self.state.variants.get(step.id)
        winner = self.flow.winners.get(step.id)
        if taken not in ids:
            if winner is not None and winner.variant in ids and as_utc(self.state.entered_at) >= as_utc(winner.since):
                taken = winner.variant
            else:
                taken = ids[pick_variant(self.contact.id, self.flow.id, step.id, [v.weight for v in step.variants])]
        self.state = self.state.evolve(variants={**self.state.variants, step.id: taken})
        reached = self.actions[-1]  # the step_reached just recorded for this split: name the variant
        if isinstance(reached, Transition) and reached.step_id == step.id:
            self.actions[-1] = replace(reached, variant=taken)
        return step.variants[ids.index(taken)].next

    def send(self, step: SendStep, timed: bool = False) -> str | None:
        """`timed`: the step already waited for its best time (or for the policy), so it goes now."""
        if step.at == "best_time" and not timed:
            tz = zone(self.contact.time_zone, self.policy.time_zone)
            at = best_send_time(self.contact.history, self.now, tz, step.within, self.policy.audience_hours)
            if at > self.now:
                self.record("held_by_policy", step.id, f"best time {at:%a %H:%M} UTC")
                return self.park(step.id, "best_time", at)
        category = step.category or self.flow.category
        verdict = judge_send(self.policy, self.contact, self.ledger, step.channel, category, self.now, self.flow.topic)
        if verdict.outcome == "suppress":
            reason = verdict.reason or "suppressed"
            # Without consent to a marketing flow's topic nothing later in it may go either: end it.
            if self.contact.status == "erased" or (
                category == "marketing"
                and self.flow.category == "marketing"
                and marketing_consent(self.contact, self.flow.topic) is not None
            ):
                self.finish("exited", reason, step.id)
                return None
            self.record("skipped", step.id, reason)
            return self.flow.following(step)
        if verdict.outcome == "defer" and verdict.until is not None:
            if step.if_held == "skip":
                self.record("skipped", step.id, verdict.reason)
                return self.flow.following(step)
            self.record("held_by_policy", step.id, verdict.reason)
            return self.park(step.id, "policy", verdict.until)
        state = self.state
        mid = message_id(
            state.workspace_id, state.contact_id, state.flow_id, state.flow_version, step.id, self.occurrence(step.id)
        )
        self.actions.append(
            RequestMessage(
                message_id=mid,
                channel=step.channel,
                template=step.template,
                category=category,
                step_id=step.id,
                flow_id=state.flow_id,
                flow_version=state.flow_version,
                contact_id=state.contact_id,
                best_time=step.at == "best_time",
                variant=self.variant,
                locale=_locale(self.contact),
            )
        )
        self.ledger.append(SentMessage(at=self.now, channel=step.channel, category=category, flow_id=state.flow_id))
        self.state = state.evolve(messages={**state.messages, step.id: mid})
        return self.flow.following(step)

    def update_contact(self, step: UpdateContactStep) -> str | None:
        changes: dict[str, Any] = dict(step.set)
        self.actions.append(
            UpdateContact(
                contact_id=self.contact.id,
                set=changes,
                add_tags=step.add_tags,
                remove_tags=step.remove_tags,
                unsubscribe=step.unsubscribe,
                step_id=step.id,
            )
        )
        self.contact = self.contact.with_changes(changes, frozenset(step.add_tags), frozenset(step.remove_tags))
        if step.unsubscribe is not None:
            self.contact = self.contact.unsubscribed(step.unsubscribe.topic)
        return self.flow.following(step)

    def notify(self, step: NotifyStep) -> str | None:
        """Post the webhook; with `on_failure`, park until its outcome is known (or `timeout` passes).

        A letter (`channel: post`) in a marketing flow needs the contact's consent to post."""
        if step.channel is not None and self.flow.category == "marketing":
            refused = marketing_consent(self.contact, self.flow.topic, step.channel)
            if refused is not None:
                self.record("skipped", step.id, refused)
                return self.flow.following(step)
        state = self.state
        nid = message_id(
            state.workspace_id, state.contact_id, state.flow_id, state.flow_version, step.id, self.occurrence(step.id)
        )
        self.actions.append(
            Notify(
                notification_id=nid,
                url=step.url,
                payload=dict(step.payload),
                step_id=step.id,
                contact_id=state.contact_id,
            )
        )
        self.state = state.evolve(messages={**state.messages, step.id: nid})
        if step.on_failure is not None:
            return self.park(step.id, "outcome", self.now + step.timeout)
        return self.flow.following(step)


def _locale(contact: ContactView) -> str | None:
    locale = contact.attributes.get("locale")
    return str(locale) if locale else None
