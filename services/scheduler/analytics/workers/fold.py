"""The analytics consumer: folds transitions, requests, statuses, engagement and shop events into tables.

One transaction per batch: claim the event ids (consumer `analytics`; ids seen before are dropped),
fold message facts under row locks, add the counter differences, note firsts and entries, credit
purchases. Within a batch, records are folded topic by topic (requests before statuses before
engagement before purchases), so a purchase sees the clicks that came with it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import asyncpg

from services.scheduler.analytics.adapters import tables
from services.scheduler.analytics.domain.attribution import AnalyticsSettings, attribute
from services.scheduler.analytics.domain.facts import (
    CounterKey,
    MessageFacts,
    changes,
    fold_engagement,
    fold_request,
    fold_status,
)
from services.scheduler.unit_of_work.unit import RETRYABLE
from shared.contract import Engagement, FlowTransition, MessageRequested, MessageStatus
from shared.contract.shop import PurchaseEvent
from shared.contract.topics import (
    ENGAGEMENT,
    EVENTS,
    MESSAGES_REQUESTED,
    MESSAGES_STATUS,
    PURCHASES,
    SIGNUPS,
    TRANSITIONS,
)
from shared.errors import Transient
from shared.kafka.consumer import Incoming

CONSUMER = "analytics"
TOPICS = (MESSAGES_REQUESTED, TRANSITIONS, MESSAGES_STATUS, ENGAGEMENT, SIGNUPS, EVENTS, PURCHASES)
_ORDER = {topic.name: index for index, topic in enumerate(TOPICS)}
# Flow-level counters live on step '' (and the variant the enrollment took, if any).
_FLOW_LEVEL = {"entered": "entered", "goal_reached": "goal_reached", "exited": "exited"}


def hour_of_week(at: datetime) -> int:
    """0 = Monday 00:00–00:59 UTC … 167 = Sunday 23:00."""
    return at.weekday() * 24 + at.hour


def _message_key(record: Any) -> tuple[str, str, str] | None:
    if isinstance(record, MessageRequested):
        return record.workspace_id, record.event_id, record.contact_id
    if isinstance(record, MessageStatus | Engagement) and record.message_id:
        return record.workspace_id, record.message_id, record.contact_id
    return None


def _folded(
    before: dict[tuple[str, str], MessageFacts], keyed: Sequence[tuple[tuple[str, str, str], Any]]
) -> dict[tuple[str, str], MessageFacts]:
    """The facts after folding each record, in order, over the facts before (pure)."""
    facts = dict(before)
    for key, record in keyed:
        current = facts[key[:2]]
        if isinstance(record, MessageRequested):
            facts[key[:2]] = fold_request(current, record)
        elif isinstance(record, MessageStatus):
            facts[key[:2]] = fold_status(current, record)
        else:
            facts[key[:2]] = fold_engagement(current, record)
    return facts


def _variant_of(record: Any) -> str | None:
    if isinstance(record, FlowTransition):
        return record.variant
    if isinstance(record, MessageRequested):
        return record.variables.get("variant")
    return None


@dataclass
class BatchFold:
    """What one batch adds, gathered before it is written."""

    deltas: dict[CounterKey, Counter[str]] = field(default_factory=dict)
    firsts: list[tuple[str, str, str, datetime]] = field(default_factory=list)
    entries: list[tuple[str, str, str, datetime]] = field(default_factory=list)
    hours: Counter[tuple[str, int]] = field(default_factory=Counter)
    links: Counter[tuple[str, str, str, str]] = field(default_factory=Counter)

    def add(self, key: CounterKey, counter: str, amount: int = 1) -> None:
        self.deltas.setdefault(key, Counter())[counter] += amount

    def transition(self, record: FlowTransition) -> None:
        if record.flow_id is None or record.flow_version is None:
            return
        day: date = record.occurred_at.date()
        ws, flow, version = record.workspace_id, record.flow_id, record.flow_version
        if record.kind == "step_reached" and record.step_id:
            self.add((ws, flow, version, record.step_id, record.variant or "", day), "reached")
        elif record.kind in _FLOW_LEVEL:
            self.add((ws, flow, version, "", record.variant or "", day), _FLOW_LEVEL[record.kind])
        if record.kind == "entered":
            self.entries.append((ws, flow, record.contact_id, record.occurred_at))

    def engagement(self, record: Engagement) -> None:
        if record.machine or record.kind not in ("opened", "clicked"):
            return
        self.hours[(record.workspace_id, hour_of_week(record.occurred_at))] += 1
        if record.kind == "clicked" and record.url and record.flow_id:
            self.links[(record.workspace_id, record.flow_id, record.step_id or "", record.url)] += 1

    def shop_event(self, record: Any) -> None:
        kind = str(record.type)
        if kind == "track":
            kind = str(record.name)
        self.firsts.append((record.workspace_id, record.contact_id, kind, record.occurred_at))


class Fold:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self.touched: set[tuple[str, str]] = set()  # (workspace, flow) with split variants in recent batches

    async def handle(self, batch: list[Incoming]) -> None:
        try:
            async with self._pool.acquire() as connection, connection.transaction():
                await self._handle(connection, batch)
        except RETRYABLE as error:
            raise Transient(f"database: {error!r}") from error

    async def _handle(self, connection: asyncpg.Connection, batch: Sequence[Incoming]) -> None:
        candidates: dict[tuple[str, str], tuple[int, Any]] = {}
        for position, item in enumerate(batch):
            if item.value is not None:
                candidates.setdefault((item.value.workspace_id, item.value.event_id), (position, item))
        fresh_ids = await tables.claim(connection, CONSUMER, list(candidates))
        fresh = sorted((candidates[key] for key in fresh_ids), key=lambda pair: (_ORDER[pair[1].topic.name], pair[0]))
        records = [item.value for _, item in fresh]
        self.touched |= {(r.workspace_id, r.flow_id) for r in records if _variant_of(r) and r.flow_id}
        await self._fold_messages(connection, records)
        gathered = BatchFold()
        for record in records:
            if isinstance(record, FlowTransition):
                gathered.transition(record)
            elif isinstance(record, Engagement):
                gathered.engagement(record)
            elif not isinstance(record, MessageRequested | MessageStatus):
                gathered.shop_event(record)
        await tables.add_counters(connection, gathered.deltas)
        await tables.note_firsts(connection, gathered.firsts)
        await tables.note_entries(connection, gathered.entries)
        await tables.add_send_hours(connection, gathered.hours)
        await tables.add_link_clicks(connection, gathered.links)
        settings: dict[str, AnalyticsSettings] = {}
        for record in records:
            if isinstance(record, PurchaseEvent):
                if record.workspace_id not in settings:
                    settings[record.workspace_id] = await tables.load_settings(connection, record.workspace_id)
                await self._credit(connection, record, settings[record.workspace_id])

    async def _fold_messages(self, connection: asyncpg.Connection, records: Sequence[Any]) -> None:
        keyed = [(found, record) for record in records if (found := _message_key(record)) is not None]
        if not keyed:
            return
        stored = await tables.lock_messages(connection, [key[:2] for key, _ in keyed])
        before = {key[:2]: stored.get(key[:2]) or MessageFacts(*key) for key, _ in keyed}
        after = _folded(before, keyed)
        first_seen = [facts for key, facts in after.items() if key not in stored]
        raced = {(f.workspace_id, f.message_id) for f in first_seen} - await tables.insert_messages(
            connection, first_seen
        )
        if raced:  # another fold inserted these since we looked: fold this batch's records over its rows
            theirs = await tables.lock_messages(connection, raced)
            stored |= theirs
            before |= theirs
            after |= _folded(theirs, [(key, record) for key, record in keyed if key[:2] in raced])
        await tables.save_messages(connection, [after[key] for key in stored if after[key] != before[key]])
        deltas: dict[CounterKey, Counter[str]] = {}
        for message, facts in after.items():
            if facts != before[message]:
                for counter_key, delta in changes(before[message], facts).items():
                    deltas.setdefault(counter_key, Counter()).update(delta)
        await tables.add_counters(connection, deltas)

    async def _credit(
        self, connection: asyncpg.Connection, purchase: PurchaseEvent, settings: AnalyticsSettings
    ) -> None:
        at = purchase.occurred_at
        since = at - max(settings.click_window, settings.open_window)
        workspace_id, contact_id = purchase.workspace_id, purchase.contact_id
        credit = attribute(at, await tables.touches(connection, workspace_id, contact_id, since), settings)
        if credit is None:
            return
        key = (workspace_id, credit.message_id)
        message = (await tables.lock_messages(connection, [key])).get(key) or MessageFacts(*key, contact_id)
        await tables.credit(
            connection,
            workspace_id=purchase.workspace_id,
            purchase_id=purchase.event_id,
            order_id=purchase.order_id,
            contact_id=purchase.contact_id,
            credit=credit,
            facts=message,
            revenue=purchase.revenue,
            currency=purchase.currency,
            purchased_at=at,
        )
