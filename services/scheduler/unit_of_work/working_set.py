"""The contacts a unit is working on: what flows read about them, read once per batch and kept true.

A unit holds its contacts' locks until it commits, so nobody else changes these rows meanwhile.
The unit's own writes go through here too: enrollments, sends and step timers are kept and written
in bulk just before commit (`flush`), and later records of the same batch read them from here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import asyncpg

from services.scheduler.adapters.contact_batch import (
    Enrolled,
    Key,
    load_enrollments,
    load_ledgers,
    load_views,
    record_sends,
)
from services.scheduler.adapters.enrollments import (
    TimerRow,
    cancel_timers,
    save_enrollments,
    schedule_timers,
    update_enrollments,
)
from services.scheduler.domain import ContactView, EnrollmentState, PastEnrollment, SentMessage


@dataclass
class WorkingSet:
    views: dict[Key, ContactView] = field(default_factory=dict)
    enrollments: dict[Key, list[Enrolled]] = field(default_factory=dict)
    ledgers: dict[Key, list[SentMessage]] = field(default_factory=dict)
    ledger_since: datetime | None = None
    _states: dict[str, EnrollmentState] = field(default_factory=dict)
    _stored: set[str] = field(default_factory=set)  # enrollment ids read from (or written to) the table
    _sends: list[tuple[str, str, str, SentMessage]] = field(default_factory=list)
    _timers: dict[str, TimerRow | None] = field(default_factory=dict)  # None: cancel

    async def load(
        self,
        connection: asyncpg.Connection,
        keys: Iterable[Key],
        now: datetime,
        *,
        days: int,
        limit: int,
        since: datetime,
    ) -> None:
        """Read whatever of these contacts is not held yet, in a fixed number of queries."""
        wanted = list(dict.fromkeys(keys))
        held = self.ledger_since is not None and since >= self.ledger_since
        if held and all(k in self.views and k in self.enrollments and k in self.ledgers for k in wanted):
            return  # the common case inside a batch: everything was read up front
        views = [k for k in wanted if k not in self.views]
        self.views.update(await load_views(connection, views, now, days=days, limit=limit))
        missing = [k for k in wanted if k not in self.enrollments]
        loaded = await load_enrollments(connection, missing)
        self.enrollments.update(loaded)
        self._stored.update(e.id for found in loaded.values() for e in found)
        if self.ledger_since is not None and since < self.ledger_since:
            self.ledgers.clear()  # asked for a longer window than the one held
        self.ledger_since = since if self.ledger_since is None else min(since, self.ledger_since)
        missing = [k for k in wanted if k not in self.ledgers]
        self.ledgers.update(await load_ledgers(connection, missing, self.ledger_since))

    def live(self, key: Key) -> list[EnrollmentState]:
        return [e.state for e in self.enrollments[key] if e.active and e.state is not None]

    def enrollment(self, key: Key, enrollment_id: str) -> EnrollmentState | None:
        return next((e.state for e in self.enrollments.get(key, ()) if e.id == enrollment_id), None)

    def past(self, key: Key, flow_id: str) -> list[PastEnrollment]:
        return [
            PastEnrollment(entered_at=e.entered_at, active=e.active)
            for e in self.enrollments[key]
            if e.flow_id == flow_id
        ]

    def ledger(self, key: Key, since: datetime) -> list[SentMessage]:
        return [sent for sent in self.ledgers[key] if sent.at >= since]

    def save(self, state: EnrollmentState) -> None:
        """Store an enrollment at flush; later reads in this unit see it (entered_at is kept, as the upsert does)."""
        self._states.pop(state.enrollment_id, None)
        self._states[state.enrollment_id] = state
        held = self.enrollments.get((state.workspace_id, state.contact_id))
        if held is None:
            return
        live = state if state.active else None
        for enrolled in held:
            if enrolled.id == state.enrollment_id:
                enrolled.active, enrolled.state = state.active, live
                return
        held.append(Enrolled(state.enrollment_id, state.flow_id, state.entered_at, state.active, live))

    def send(self, message_id: str, key: Key, message: SentMessage) -> None:
        """Record a requested message in the send ledger at flush."""
        self._sends.append((message_id, *key, message))
        if key in self.ledgers:
            self.ledgers[key].append(message)

    def schedule(self, timer: TimerRow) -> None:
        self._timers[timer[0]] = timer

    def cancel(self, timer_id: str) -> None:
        self._timers[timer_id] = None

    async def flush(self, connection: asyncpg.Connection) -> None:
        """Write what the unit decided, a statement per table; the last word on a timer wins.

        Enrollments read from the table are updated before new ones are inserted: an enrollment that
        ended leaves the contact's place in its flow to one that started after it."""
        states, sends, timers = list(self._states.values()), self._sends, self._timers
        self._states, self._sends, self._timers = {}, [], {}
        await update_enrollments(connection, [s for s in states if s.enrollment_id in self._stored])
        await save_enrollments(connection, [s for s in states if s.enrollment_id not in self._stored])
        self._stored.update(s.enrollment_id for s in states)
        await record_sends(connection, sends)
        await cancel_timers(connection, [timer_id for timer_id, row in timers.items() if row is None])
        await schedule_timers(connection, [row for row in timers.values() if row is not None])

    def forget_view(self, key: Key) -> None:
        """The contact changed in a way its view shows (profile, history, segments): read it again."""
        self.views.pop(key, None)
