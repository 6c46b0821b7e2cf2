"""The scheduler's consumer: shop events, profiles, engagement and bounces, one transaction per batch.

Per batch: drop event ids already processed, remember history for every contact (cheap, in bulk),
then, only for workspaces that have flows or segments, lock the contacts, re-judge their segments
and move them through their flows.
The loop commits offsets after the transaction commits; a crash in between replays the batch and
the processed-ids table drops it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from services.scheduler.adapters.contacts import forget_contact, note_signups, record_history, swap_seen_attributes
from services.scheduler.adapters.enrollments import live_workspaces, lock_contacts
from services.scheduler.adapters.segments import set_memberships
from services.scheduler.domain import Event, members_of, membership_events
from services.scheduler.domain.contact import CONTACT_ERASED
from services.scheduler.journeys import Journeys
from services.scheduler.records import (
    attribute_changes,
    engagement_event,
    profile_attributes,
    shop_event,
    stable_id,
    status_event,
)
from services.scheduler.unit import Unit, Units
from shared.contract import ContactChanged, Engagement, MessageStatus
from shared.contract.topics import CARTS, CONTACTS, ENGAGEMENT, EVENTS, MESSAGES_STATUS, PURCHASES, SIGNUPS
from shared.kafka.consumer import Incoming

CONSUMER = "scheduler"
TOPICS = (SIGNUPS, PURCHASES, CARTS, EVENTS, CONTACTS, ENGAGEMENT, MESSAGES_STATUS)

_CLAIM_IDS = """
INSERT INTO processed_events (consumer, workspace_id, event_id)
SELECT $1, * FROM unnest($2::text[], $3::text[]) ON CONFLICT DO NOTHING
RETURNING workspace_id, event_id
"""


# The attributes seen before a profile record (None: the first), and the record's own.
Seen = tuple[dict[str, Any] | None, dict[str, Any]]


@dataclass(frozen=True)
class Work:
    """One record, reduced to what flows care about."""

    workspace_id: str
    contact_id: str
    event_id: str
    event: Event | None = None
    profile: ContactChanged | None = None


def _work(item: Incoming) -> Work | str | None:
    """The record as work, the contact id of an erasure (a tombstone), or None when irrelevant."""
    value = item.value
    if value is None:
        return item.key if item.topic is CONTACTS and item.key else None
    if isinstance(value, ContactChanged):
        return Work(value.workspace_id, value.contact_id, value.event_id, profile=value)
    if isinstance(value, Engagement):
        event: Event | None = engagement_event(value)
    elif isinstance(value, MessageStatus):
        event = status_event(value)
    else:
        event = shop_event(value)
    return Work(value.workspace_id, value.contact_id, value.event_id, event=event)


class Intake:
    def __init__(self, units: Units, journeys: Journeys) -> None:
        self._units = units
        self._journeys = journeys

    async def handle(self, batch: list[Incoming]) -> None:
        async with self._units.open() as unit:
            await self._handle(unit, batch)

    async def _handle(self, unit: Unit, batch: Sequence[Incoming]) -> None:
        erasures: list[str] = []
        candidates: dict[tuple[str, str], Work] = {}
        for item in batch:
            work = _work(item)
            if isinstance(work, str):
                erasures.append(work)
            elif work is not None:
                candidates.setdefault((work.workspace_id, work.event_id), work)
        fresh = await self._fresh(unit, list(candidates.values()))
        events = [(w.workspace_id, w.contact_id, w.event) for w in fresh if w.event is not None]
        await record_history(unit.connection, events)
        await note_signups(unit.connection, [(ws, c, e.at) for ws, c, e in events if e.type == "signup"])
        await unit.load_heads([w.workspace_id for w in fresh])
        await unit.load_segments([w.workspace_id for w in fresh])
        relevant = [w for w in fresh if await unit.heads(w.workspace_id) or await unit.segments(w.workspace_id)]
        await lock_contacts(unit.connection, [(w.workspace_id, w.contact_id) for w in relevant])
        await self._journeys.gather(unit, [(w.workspace_id, w.contact_id) for w in relevant])
        profiles = [
            w for w in relevant if w.event is None and w.profile is not None and await unit.heads(w.workspace_id)
        ]
        seen_before = await self._swap_seen(unit, profiles)
        for work in relevant:
            if work.event is None and work.profile is None:
                continue
            # Segments first, so flows reacting to this record already see the contact's new segments.
            changes = await self._reassess_segments(unit, work)
            if await unit.heads(work.workspace_id):
                if work.event is not None:
                    await self._journeys.on_event(unit, work.workspace_id, work.contact_id, work.event)
                elif work.profile is not None:
                    await self._profile_changed(unit, work.profile, seen_before[(work.workspace_id, work.event_id)])
                for change in changes:
                    await self._journeys.on_event(unit, work.workspace_id, work.contact_id, change)
        for contact_id in erasures:
            await self._erase(unit, contact_id)

    async def _fresh(self, unit: Unit, candidates: list[Work]) -> list[Work]:
        """The records not processed before, in batch order; claims their ids in the same transaction."""
        if not candidates:
            return []
        rows = await unit.connection.fetch(
            _CLAIM_IDS, CONSUMER, [w.workspace_id for w in candidates], [w.event_id for w in candidates]
        )
        claimed = {(row["workspace_id"], row["event_id"]) for row in rows}
        return [w for w in candidates if (w.workspace_id, w.event_id) in claimed]

    async def _reassess_segments(self, unit: Unit, work: Work) -> list[Event]:
        """Store the contact's segments as they are after this record; the entries and exits as events."""
        segments = await unit.segments(work.workspace_id)
        contact = await self._journeys.contact(unit, work.workspace_id, work.contact_id)
        before = contact.segments
        if not segments and not before:
            return []
        after = members_of(segments, contact, unit.now)
        changes = membership_events(before, after, unit.now, stable_id(work.event_id, "segments"))
        if changes:
            await set_memberships(
                unit.connection, work.workspace_id, work.contact_id, after - before, before - after, unit.now
            )
            await record_history(unit.connection, [(work.workspace_id, work.contact_id, e) for e in changes])
            unit.contacts.forget_view((work.workspace_id, work.contact_id))
        return changes

    async def _swap_seen(self, unit: Unit, works: list[Work]) -> dict[tuple[str, str], Seen]:
        """Each profile record's attributes and those seen before it, for the whole batch at once,
        by (workspace, event id): the same contact may change twice in a batch."""
        changed = [(w, profile_attributes(w.profile.model_dump(mode="json"))) for w in works if w.profile is not None]
        befores = await swap_seen_attributes(unit.connection, [(w.workspace_id, w.contact_id, a) for w, a in changed])
        return {(w.workspace_id, w.event_id): (before, a) for (w, a), before in zip(changed, befores, strict=True)}

    async def _profile_changed(self, unit: Unit, record: ContactChanged, seen: Seen) -> None:
        before, attributes = seen
        changes = attribute_changes(record, before, attributes, unit.now)
        await record_history(unit.connection, [(record.workspace_id, record.contact_id, e) for e in changes])
        unit.contacts.forget_view((record.workspace_id, record.contact_id))
        for change in changes:
            await self._journeys.on_event(unit, record.workspace_id, record.contact_id, change)
        await self._journeys.arm_dates(unit, record.workspace_id, record.contact_id)

    async def _erase(self, unit: Unit, contact_id: str) -> None:
        """A tombstone: every live enrollment ends, then what flows kept about the contact goes."""
        workspaces = await live_workspaces(unit.connection, contact_id)
        await lock_contacts(unit.connection, [(ws, contact_id) for ws in workspaces])
        for workspace_id in workspaces:
            erased = Event(id=stable_id("erased", contact_id), type=CONTACT_ERASED, at=unit.now)
            await self._journeys.on_event(unit, workspace_id, contact_id, erased, entry=False)
        await unit.contacts.flush(unit.connection)  # the ended enrollments' writes land before the rows go
        await forget_contact(unit.connection, contact_id)
        for workspace_id in workspaces:
            unit.contacts.forget_view((workspace_id, contact_id))
