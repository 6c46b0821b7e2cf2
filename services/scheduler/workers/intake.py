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

import structlog

from services.scheduler.adapters.contacts import forget_contact, note_signups, record_history, swap_seen_attributes
from services.scheduler.adapters.coupons import record_redemptions
from services.scheduler.adapters.enrollments import lock_contacts
from services.scheduler.adapters.facts import record_facts
from services.scheduler.adapters.processed import claim_events
from services.scheduler.adapters.records import (
    attribute_changes,
    engagement_event,
    profile_attributes,
    shop_event,
    stable_id,
    status_event,
)
from services.scheduler.domain import Event
from services.scheduler.domain.contact import CONTACT_ERASED
from services.scheduler.domain.coupons import redeemed_codes
from services.scheduler.unit_of_work.unit import Unit, Units
from services.scheduler.usecases.journeys import Journeys
from services.scheduler.usecases.memberships import Memberships
from shared.contract import ContactChanged, Engagement, MessageStatus
from shared.contract.contacts import erased_contact
from shared.contract.topics import CARTS, CONTACTS, ENGAGEMENT, EVENTS, MESSAGES_STATUS, PURCHASES, SIGNUPS
from shared.kafka.consumer import Incoming
from shared.kafka.segment_roll import is_roll_key

log = structlog.get_logger(__name__)
CONSUMER = "scheduler"
TOPICS = (SIGNUPS, PURCHASES, CARTS, EVENTS, CONTACTS, ENGAGEMENT, MESSAGES_STATUS)


# The attributes seen before a profile record (None: the first), and the record's own.
Seen = tuple[dict[str, Any] | None, dict[str, Any]]
Erased = tuple[str, str]  # (workspace, contact) a tombstone erases


@dataclass(frozen=True)
class Work:
    """One record, reduced to what flows care about."""

    workspace_id: str
    contact_id: str
    event_id: str
    event: Event | None = None
    profile: ContactChanged | None = None


def _work(item: Incoming) -> Work | Erased | None:
    """The record as work, the (workspace, contact) of an erasure (a tombstone), or None when irrelevant.

    A tombstone from before keys named the workspace is skipped: ingest erased that workspace's rows
    itself, and acting on the bare id would end the flows of namesakes in every other workspace."""
    value = item.value
    if value is None:
        erased = erased_contact(item.key) if item.topic is CONTACTS else None
        if erased is None and item.topic is CONTACTS and not is_roll_key(item.key):
            log.warning("intake.erasure_without_workspace", key=item.key)
        return erased
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
        self._memberships = Memberships(journeys)

    async def handle(self, batch: list[Incoming]) -> None:
        async with self._units.open() as unit:
            await self._handle(unit, batch)

    async def _handle(self, unit: Unit, batch: Sequence[Incoming]) -> None:
        erasures: list[Erased] = []
        candidates: dict[tuple[str, str], Work] = {}
        for item in batch:
            work = _work(item)
            if isinstance(work, tuple):
                erasures.append(work)
            elif work is not None:
                candidates.setdefault((work.workspace_id, work.event_id), work)
        fresh = await self._fresh(unit, list(candidates.values()))
        events = [(w.workspace_id, w.contact_id, w.event) for w in fresh if w.event is not None]
        await record_history(unit.connection, events)
        await record_facts(unit.connection, events, unit.now)
        await record_redemptions(unit.connection, [(w, c, e.id, e.at, redeemed_codes(e)) for w, c, e in events])
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
        for workspace_id, contact_id in erasures:
            await self._erase(unit, workspace_id, contact_id)

    async def _fresh(self, unit: Unit, candidates: list[Work]) -> list[Work]:
        """The records not processed before, in batch order; claims their ids in the same transaction."""
        claimed = await claim_events(unit.connection, CONSUMER, [(w.workspace_id, w.event_id) for w in candidates])
        return [w for w in candidates if (w.workspace_id, w.event_id) in claimed]

    async def _reassess_segments(self, unit: Unit, work: Work) -> list[Event]:
        """Store the contact's segments as they are after this record; the entries and exits as events."""
        cause_id = stable_id(work.event_id, "segments")
        return await self._memberships.reassess(unit, work.workspace_id, work.contact_id, cause_id)

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

    async def _erase(self, unit: Unit, workspace_id: str, contact_id: str) -> None:
        """A tombstone: the contact's live enrollments in its workspace end, then what flows kept about it goes.

        Only in that workspace: the same contact id elsewhere is another person."""
        await lock_contacts(unit.connection, [(workspace_id, contact_id)])
        erased = Event(id=stable_id("erased", contact_id), type=CONTACT_ERASED, at=unit.now)
        await self._journeys.on_event(unit, workspace_id, contact_id, erased, entry=False)
        await unit.contacts.flush(unit.connection)  # the ended enrollments' writes land before the rows go
        await forget_contact(unit.connection, workspace_id, contact_id)
        unit.contacts.forget_view((workspace_id, contact_id))
