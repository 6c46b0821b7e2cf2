"""Who is in which segment: judged when a record about the contact arrives, when the clock passes a
threshold of a condition with time in it, and when a segment is created, changed or swept.

Each judgement stores the memberships, remembers entries and exits in the contact's history, puts
them on `segments.changes` (through the outbox) and arms the contact's segment timer for the next
instant a verdict can flip by time alone (`domain/segment_clock.py`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from services.scheduler.adapters.contacts import record_history
from services.scheduler.adapters.enrollments import DueTimer
from services.scheduler.adapters.records import stable_id
from services.scheduler.adapters.segments import set_many_memberships
from services.scheduler.domain import ContactView, Event, Segment, members_of, membership_events
from services.scheduler.domain.contact import SEGMENT_ENTERED
from services.scheduler.domain.segment_clock import moves_with_time, next_check
from services.scheduler.unit_of_work.unit import Unit
from services.scheduler.usecases.journeys import Journeys
from shared.contract.segments import SegmentChange
from shared.contract.topics import SEGMENT_CHANGES
from shared.kafka.producer import OutgoingRecord

SEGMENT_TIMER = "segment"
Cause = Literal["event", "time", "backfill"]


def segment_timer_id(workspace_id: str, contact_id: str) -> str:
    return f"segment:{stable_id(workspace_id, contact_id)}"


@dataclass
class PendingWrites:
    """Entries, exits and their history rows kept for one statement each at the end of a page (a backfill
    in a workspace without flows: nobody reads them before then)."""

    entered: list[tuple[str, str, str, datetime]] = field(default_factory=list)
    left: list[tuple[str, str, str]] = field(default_factory=list)
    history: list[tuple[str, str, Event]] = field(default_factory=list)

    async def flush(self, unit: Unit) -> None:
        await set_many_memberships(unit.connection, self.entered, self.left)
        await record_history(unit.connection, self.history)
        self.entered, self.left, self.history = [], [], []


class Memberships:
    def __init__(self, journeys: Journeys) -> None:
        self._journeys = journeys

    async def reassess(
        self,
        unit: Unit,
        workspace_id: str,
        contact_id: str,
        cause_id: str,
        cause: Cause = "event",
        pending: PendingWrites | None = None,
    ) -> list[Event]:
        """Store the contact's segments as they are now; the entries and exits as events (ids from `cause_id`).
        With `pending`, the writes wait there for the caller's flush."""
        segments = await unit.segments(workspace_id)
        contact = await self._journeys.contact(unit, workspace_id, contact_id)
        own = PendingWrites() if pending is None else pending
        changes = self._judged(unit, segments, contact, lambda _: cause_id, cause, own)
        if changes and pending is None:
            await own.flush(unit)
        return changes

    async def judge_page(
        self,
        unit: Unit,
        workspace_id: str,
        contacts: Sequence[ContactView],
        cause_id: Callable[[str], str],
        cause: Cause,
    ) -> int:
        """Judge a page of contacts (locked by the caller, their views read in one go): the memberships,
        history rows, segment timers and `segments.changes` records of the whole page are written with one
        statement each; `cause_id` gives a contact's cause id (asked only of contacts whose segments change).
        In a workspace with flows, each entry and exit then reaches the contact's flows, which read the
        memberships just written. Returns how many entries and exits there were."""
        segments = await unit.segments(workspace_id)
        pending = PendingWrites()
        changed: list[tuple[str, list[Event]]] = []
        for contact in contacts:
            changes = self._judged(unit, segments, contact, cause_id, cause, pending)
            if changes:
                changed.append((contact.id, changes))
        await pending.flush(unit)
        if changed and await unit.heads(workspace_id):
            await self._journeys.gather(unit, [(workspace_id, contact_id) for contact_id, _ in changed])
            for contact_id, changes in changed:
                for change in changes:
                    await self._journeys.on_event(unit, workspace_id, contact_id, change)
        return sum(len(changes) for _, changes in changed)

    def _judged(
        self,
        unit: Unit,
        segments: Sequence[Segment],
        contact: ContactView,
        cause_id: Callable[[str], str],
        cause: Cause,
        pending: PendingWrites,
    ) -> list[Event]:
        """The contact's verdicts now: entries, exits and their history rows kept in `pending`, their records
        in the unit's outgoing ones, the segment timer armed for the next instant a verdict can flip."""
        workspace_id, contact_id = contact.workspace_id, contact.id
        before = contact.segments
        if not segments and not before:
            return []
        after = members_of(segments, contact, unit.now)
        changes = membership_events(before, after, unit.now, cause_id(contact_id)) if after != before else []
        if changes:
            pending.entered.extend((workspace_id, s, contact_id, unit.now) for s in sorted(after - before))
            pending.left.extend((workspace_id, s, contact_id) for s in sorted(before - after))
            pending.history.extend((workspace_id, contact_id, e) for e in changes)
            unit.outgoing.extend(_published(workspace_id, contact_id, change, cause, unit) for change in changes)
            unit.contacts.forget_view((workspace_id, contact_id))
        timed = [segment for segment in segments if moves_with_time(segment.condition)]
        if timed:
            self._arm(unit, workspace_id, contact_id, next_check(timed, contact, unit.now, after))
        return changes

    async def judge_and_move(
        self,
        unit: Unit,
        workspace_id: str,
        contact_id: str,
        cause_id: str,
        cause: Cause,
        pending: PendingWrites | None = None,
    ) -> list[Event]:
        """Judge, then let the contact's flows hear of each entry and exit (a segment trigger may start one).
        `pending` is used only in a workspace without flows: flows read the memberships at once."""
        flows = bool(await unit.heads(workspace_id))
        changes = await self.reassess(unit, workspace_id, contact_id, cause_id, cause, None if flows else pending)
        if changes and flows:
            for change in changes:
                await self._journeys.on_event(unit, workspace_id, contact_id, change)
        return changes

    async def on_timers(self, unit: Unit, timers: Sequence[DueTimer]) -> None:
        """Segment timers that came due: the clock passed an instant where a verdict may flip."""
        for timer in timers:
            if timer.kind == SEGMENT_TIMER:
                cause_id = stable_id(timer.id, timer.due_at.isoformat())
                await self.judge_and_move(unit, timer.workspace_id, timer.contact_id, cause_id, "time")

    def _arm(self, unit: Unit, workspace_id: str, contact_id: str, at: datetime | None) -> None:
        timer_id = segment_timer_id(workspace_id, contact_id)
        if at is None:
            unit.contacts.cancel(timer_id)
            return
        unit.contacts.schedule((timer_id, SEGMENT_TIMER, workspace_id, contact_id, None, None, at))
        unit.timer_at(at)


def _published(workspace_id: str, contact_id: str, change: Event, cause: Cause, unit: Unit) -> OutgoingRecord:
    record = SegmentChange(
        event_id=change.id,
        workspace_id=workspace_id,
        contact_id=contact_id,
        occurred_at=change.at,
        received_at=unit.now,
        segment_id=str(change.data["segment"]),
        change="entered" if change.type == SEGMENT_ENTERED else "left",
        cause=cause,
    )
    return OutgoingRecord.of(SEGMENT_CHANGES, record)
