"""Moving contacts through flows: events, timers and date triggers, inside a unit whose contact lock is held.

A flow's pause is applied lazily: whenever an enrollment is touched, its `paused` flag is brought
in line with the flow's (pausing it, or resuming and re-arming a timer that came due meanwhile),
then the engine runs. The resume pass (`passes.py`) wakes the ones nothing touches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from services.scheduler.adapters.consent import hold_entry, release_held
from services.scheduler.adapters.enrollments import DueTimer, cancel_timers, schedule_timers
from services.scheduler.adapters.flows import FlowHead
from services.scheduler.adapters.records import held_record, outcome_record, stable_id
from services.scheduler.domain import (
    ContactView,
    Decision,
    EnrollmentState,
    Event,
    EventReceived,
    SentMessage,
    TimerFired,
    advance,
    decide_entry,
    next_date_entry,
    pause,
    resume,
    start,
    triggered_by,
)
from services.scheduler.domain.contact import CONFIRMED
from services.scheduler.unit_of_work.effects import carry_out
from services.scheduler.unit_of_work.unit import Unit
from shared.contract.topics import TRANSITIONS
from shared.kafka.producer import OutgoingRecord
from shared.settings import SchedulerSettings


@dataclass(frozen=True)
class EntryOutcome:
    flow_id: str
    entered: bool
    reason: str
    enrollment_id: str | None = None


def entry_timer_id(workspace_id: str, contact_id: str, flow_id: str) -> str:
    return f"entry:{stable_id(workspace_id, contact_id, flow_id)}"


class Journeys:
    def __init__(self, settings: SchedulerSettings) -> None:
        self._days = settings.history_days
        self._limit = settings.history_limit

    async def gather(self, unit: Unit, contacts: Sequence[tuple[str, str]]) -> None:
        """Read what flows need about these (locked) contacts in one go: a batch's worth of queries, not a record's."""
        since = unit.now - timedelta(days=self._days)
        await unit.contacts.load(unit.connection, contacts, unit.now, days=self._days, limit=self._limit, since=since)

    async def contact(self, unit: Unit, workspace_id: str, contact_id: str) -> ContactView:
        key = (workspace_id, contact_id)
        if key not in unit.contacts.views:
            await self.gather(unit, [key])
        return unit.contacts.views[key]

    async def _ledger(self, unit: Unit, workspace_id: str, contact_id: str) -> list[SentMessage]:
        await self.gather(unit, [(workspace_id, contact_id)])
        return unit.contacts.ledger((workspace_id, contact_id), unit.now - timedelta(days=self._days))

    async def on_event(
        self,
        unit: Unit,
        workspace_id: str,
        contact_id: str,
        event: Event,
        *,
        entry: bool = True,
        only: str | None = None,
    ) -> list[EntryOutcome]:
        """Advance the contact's live enrollments on `event`, then let it enter flows it triggers.

        `only` restricts both to one flow (an API enrollment); `entry=False` skips entering (erasure).
        """
        fate = outcome_record(event, workspace_id, contact_id, unit.now)
        if fate is not None:
            unit.outgoing.append(fate)
        contact = await self.contact(unit, workspace_id, contact_id)
        if only is None:
            for state in unit.contacts.live((workspace_id, contact_id)):
                if await self._advance(unit, state, EventReceived(event=event), contact):
                    contact = await self.contact(unit, workspace_id, contact_id)
        outcomes: list[EntryOutcome] = []
        if not entry:
            return outcomes
        if event.type == CONFIRMED and only is None:
            outcomes += await self._release_held(unit, workspace_id, contact_id, event)
            contact = await self.contact(unit, workspace_id, contact_id)
        for head in await unit.heads(workspace_id):
            if only is not None and head.flow_id != only:
                continue
            outcome = await self._enter(unit, head, contact, event)
            if outcome is not None:
                outcomes.append(outcome)
                if outcome.entered:
                    contact = await self.contact(unit, workspace_id, contact_id)
        return outcomes

    async def on_timers(self, unit: Unit, timers: Sequence[DueTimer]) -> None:
        """Fire a batch of claimed timers; stale ones (enrollment ended) cost no more than one shared query."""
        await self.gather(unit, [(t.workspace_id, t.contact_id) for t in timers])
        for timer in timers:
            if timer.kind == "entry" and timer.flow_id is not None:
                await self._date_entry(unit, timer.workspace_id, timer.contact_id, timer.flow_id)
                continue
            state = unit.contacts.enrollment((timer.workspace_id, timer.contact_id), timer.enrollment_id or "")
            if state is None or not state.active:
                continue
            contact = await self.contact(unit, timer.workspace_id, timer.contact_id)
            await self._advance(unit, state, TimerFired(timer_id=timer.id), contact)

    async def arm_dates(self, unit: Unit, workspace_id: str, contact_id: str) -> None:
        """(Re-)arm each date-triggered flow's next entry for this contact, e.g. after a profile change."""
        heads = [h for h in await unit.heads(workspace_id) if h.date_triggered]
        if not heads:
            return
        contact = await self.contact(unit, workspace_id, contact_id)
        for head in heads:
            await self._arm(unit, head, contact, unit.now - timedelta(microseconds=1))

    async def sync_pause(self, unit: Unit, state: EnrollmentState) -> Decision:
        """The enrollment with the flow's pause applied (and, on resume, the re-armed timer)."""
        head = await unit.head(state.workspace_id, state.flow_id)
        paused = head is not None and head.paused
        if paused and not state.paused:
            return Decision(state=pause(state))
        if not paused and state.paused:
            return resume(state, unit.now)
        return Decision(state=state)

    async def _advance(
        self, unit: Unit, state: EnrollmentState, received: EventReceived | TimerFired, contact: ContactView
    ) -> bool:
        flow = await unit.catalog.flow(unit.connection, state.workspace_id, state.flow_id, state.flow_version)
        if flow is None:
            return False
        synced = await self.sync_pause(unit, state)
        ledger = await self._ledger(unit, state.workspace_id, state.contact_id)
        policy = await unit.policy(state.workspace_id)
        decision = advance(flow, synced.state, received, unit.now, contact, policy, ledger)
        if decision.state == state and not decision.actions and not synced.actions:
            return False
        return await carry_out(unit, flow, Decision(state=decision.state, actions=(*synced.actions, *decision.actions)))

    async def _enter(
        self, unit: Unit, head: FlowHead, contact: ContactView, event: Event | None
    ) -> EntryOutcome | None:
        flow = await unit.catalog.flow(unit.connection, head.workspace_id, head.flow_id, head.current_version)
        if flow is None or (event is not None and not triggered_by(flow, event, contact, unit.now)):
            return None
        if head.paused:
            return EntryOutcome(head.flow_id, False, "flow paused")
        await self.gather(unit, [(head.workspace_id, contact.id)])
        past = unit.contacts.past((head.workspace_id, contact.id), head.flow_id)
        verdict = decide_entry(flow, contact, unit.now, past, event)
        if verdict.hold and event is not None:
            if await hold_entry(unit.connection, head.workspace_id, contact.id, head.flow_id, event, unit.now):
                record = held_record(flow, head.workspace_id, contact.id, event, verdict.reason, unit.now)
                unit.outgoing.append(OutgoingRecord.of(TRANSITIONS, record))
            return EntryOutcome(head.flow_id, False, verdict.reason)
        if not verdict.enter:
            if verdict.refused and event is not None:
                record = held_record(flow, head.workspace_id, contact.id, event, verdict.reason, unit.now, "refused")
                unit.outgoing.append(OutgoingRecord.of(TRANSITIONS, record))
            return EntryOutcome(head.flow_id, False, verdict.reason)
        enrollment_id = stable_id(head.workspace_id, contact.id, head.flow_id, str(verdict.number))
        ledger = await self._ledger(unit, head.workspace_id, contact.id)
        decision = start(
            flow, contact, unit.now, enrollment_id, number=verdict.number, trigger=event,
            policy=await unit.policy(head.workspace_id), ledger=ledger,
        )  # fmt: skip
        await carry_out(unit, flow, decision)
        return EntryOutcome(head.flow_id, True, verdict.reason, enrollment_id)

    async def _release_held(
        self, unit: Unit, workspace_id: str, contact_id: str, confirmed: Event
    ) -> list[EntryOutcome]:
        """The address is confirmed: flows held at sign-up start now, as if their trigger happened now."""
        outcomes = []
        for held in await release_held(unit.connection, workspace_id, contact_id):
            head = await unit.head(workspace_id, held.flow_id)
            if head is None:
                continue
            contact = await self.contact(unit, workspace_id, contact_id)
            trigger = held.trigger.model_copy(update={"at": confirmed.at})
            outcome = await self._enter(unit, head, contact, trigger)
            if outcome is not None:
                outcomes.append(outcome)
        return outcomes

    async def _date_entry(self, unit: Unit, workspace_id: str, contact_id: str, flow_id: str) -> None:
        head = await unit.head(workspace_id, flow_id)
        if head is None:
            return
        contact = await self.contact(unit, workspace_id, contact_id)
        await self._enter(unit, head, contact, None)
        await self._arm(unit, head, await self.contact(unit, workspace_id, contact_id), unit.now)

    async def _arm(self, unit: Unit, head: FlowHead, contact: ContactView, after: datetime) -> None:
        flow = await unit.catalog.flow(unit.connection, head.workspace_id, head.flow_id, head.current_version)
        timer_id = entry_timer_id(head.workspace_id, contact.id, head.flow_id)
        policy = await unit.policy(head.workspace_id)
        at = next_date_entry(flow, contact, after, policy.time_zone) if flow else None
        if at is None:
            await cancel_timers(unit.connection, [timer_id])
            return
        await schedule_timers(
            unit.connection, [(timer_id, "entry", head.workspace_id, contact.id, None, head.flow_id, at)]
        )
        unit.timer_at(at)
