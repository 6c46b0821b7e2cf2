"""The timer loop: claims due timers in batches and fires them, on any number of replicas.

A claim deletes the timer rows (`FOR UPDATE SKIP LOCKED`, so replicas never fire the same one) in
the transaction that stores what firing them decided. A crash before commit rolls the delete back
and the timer is due again; after commit the step and its effects are all there. Either way a step
happens exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

import structlog

from services.scheduler.adapters.consent import expire_unconfirmed
from services.scheduler.adapters.contacts import forget_old
from services.scheduler.adapters.enrollments import DueTimer, claim_due, lock_contacts, next_due, postpone
from services.scheduler.unit_of_work.unit import Units
from services.scheduler.usecases.journeys import Journeys
from services.scheduler.usecases.memberships import Memberships
from services.scheduler.usecases.segment_backfill import SegmentBackfill
from services.scheduler.workers.segment_backfills import Backfills
from shared.errors import Transient
from shared.settings import SchedulerSettings

log = structlog.get_logger(__name__)
HOUSEKEEPING_SECONDS = 3600.0
EXPIRY_SECONDS = 60.0


class TimerLoop:
    def __init__(self, units: Units, journeys: Journeys, settings: SchedulerSettings) -> None:
        self._units = units
        self._journeys = journeys
        self._memberships = Memberships(journeys)
        self.backfills = Backfills(SegmentBackfill(units, journeys, settings))
        self._batch = settings.timer_batch
        self._workers = settings.timer_workers
        self._poll = settings.timer_poll_seconds
        self._retry = timedelta(seconds=settings.timer_retry_seconds)
        self._history = timedelta(days=settings.history_days)
        self._tidied_at = 0.0
        self._expired_at = 0.0
        self._wake = asyncio.Event()
        self._next_wake: datetime | None = None
        self._stopping = False
        self.fired = 0

    def wake(self, at: datetime) -> None:
        """A timer was added for `at`: wake now if that is sooner than the loop planned to look."""
        if self._next_wake is None or at < self._next_wake:
            self._wake.set()

    def workers(self) -> dict[str, Callable[[], Awaitable[None]]]:
        """The workers by name, for the supervisor: each claims and fires its own batches (SKIP LOCKED keeps
        them apart); the first also does the housekeeping."""
        return {f"timers-{n}": functools.partial(self.run, housekeeping=n == 0) for n in range(self._workers)}

    def finish(self) -> None:
        """Finish the batches in hand (each transaction commits or rolls back whole), then stop."""
        self._stopping = True
        self._wake.set()

    async def fire_due(self) -> int:
        """Fire one batch of due timers in one transaction; falls back to one at a time if it fails."""
        try:
            async with self._units.open() as unit:
                timers = await claim_due(unit.connection, unit.now, self._batch)
                await lock_contacts(unit.connection, [(t.workspace_id, t.contact_id) for t in timers])
                await self._journeys.on_timers(unit, timers)
                await self._memberships.on_timers(unit, timers)
        except (Transient, ValueError) as error:
            log.warning("timers.batch_failed", reason=str(error))
            return await self._fire_one_by_one()
        self.fired += len(timers)
        return len(timers)

    async def _fire_one_by_one(self) -> int:
        """Isolate a timer that keeps failing: it is postponed (and logged), the rest still fire."""
        fired = 0
        while fired < self._batch:
            failed: DueTimer | None = None
            try:
                async with self._units.open() as unit:
                    timers = await claim_due(unit.connection, unit.now, 1)
                    if not timers:
                        return fired
                    failed = timers[0]
                    await lock_contacts(unit.connection, [(failed.workspace_id, failed.contact_id)])
                    await self._journeys.on_timers(unit, [failed])
                    await self._memberships.on_timers(unit, [failed])
            except (Transient, ValueError) as error:
                if failed is None:
                    raise
                log.error("timer.failed", timer_id=failed.id, failures=failed.failures + 1, reason=str(error))
                async with self._units.open() as unit:
                    await postpone(unit.connection, failed.id, unit.now + self._retry)
                continue
            fired += 1
            self.fired += 1
        return fired

    async def _sleep(self) -> None:
        self._wake.clear()
        soonest = await next_due(self._units.pool)
        now = self._units.clock()
        delay = self._poll if soonest is None else min(self._poll, max(0.0, (soonest - now).total_seconds()))
        self._next_wake = now + timedelta(seconds=delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), delay)
        self._next_wake = None

    async def tidy(self) -> int:
        """Drop history and ledger rows no condition or cap reads any more (hourly, a slice at a time)."""
        self._tidied_at = asyncio.get_running_loop().time()
        return await forget_old(self._units.pool, self._units.clock() - self._history)

    async def expire_unconfirmed(self) -> int:
        """Sign-ups whose confirmation window closed: expire them (a minute late at most); returns how many."""
        self._expired_at = asyncio.get_running_loop().time()
        expired = 0
        while True:
            async with self._units.open() as unit:
                count = await expire_unconfirmed(unit.connection, unit.now)
            expired += count
            if count < 1000:
                return expired

    async def run(self, *, housekeeping: bool) -> None:
        while not self._stopping:
            try:
                if await self.fire_due() == self._batch:
                    continue
                if housekeeping and asyncio.get_running_loop().time() - self._tidied_at > HOUSEKEEPING_SECONDS:
                    await self.tidy()
                if housekeeping and asyncio.get_running_loop().time() - self._expired_at > EXPIRY_SECONDS:
                    await self.expire_unconfirmed()
                if housekeeping:
                    self.backfills.sweep_if_due(asyncio.get_running_loop().time())
                if not self._stopping:
                    await self._sleep()
            except (Transient, OSError) as error:
                log.warning("timers.retry", reason=str(error))
                await asyncio.sleep(self._poll)
