"""Judging a segment over every contact of its workspace: the backfill of a new or changed segment,
the daily sweep (the safety net under the segment timers) and the count preview before saving.

A backfill walks the contacts a page at a time (keyset order), one transaction per page holding those
contacts' locks, so it runs beside live traffic. A page costs a fixed number of statements: the views of
its contacts are read together, the conditions (compiled once) are judged in Python, and the memberships,
history rows, segment timers and `segments.changes` records are written with one statement each; entries
start segment-triggered flows as live ones do. Judging again is harmless: a contact whose memberships
already match gives no change, and a change's event id derives from the run, so a run that starts over
after a restart publishes nothing twice for what it had already written.
Progress is kept in `segment_backfills` after every page, for the API and `dripline segments`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from services.scheduler.adapters.contact_batch import load_views
from services.scheduler.adapters.enrollments import lock_contacts
from services.scheduler.adapters.records import stable_id
from services.scheduler.adapters.segment_backfills import (
    contact_count,
    contact_page,
    finish_backfill,
    note_progress,
    start_backfill,
    unfinished_backfills,
    workspaces_due_for_sweep,
)
from services.scheduler.domain import Segment, members_of
from services.scheduler.unit_of_work.unit import Units
from services.scheduler.usecases.journeys import Journeys
from services.scheduler.usecases.memberships import Cause, Memberships
from shared.settings import SchedulerSettings

PAGE = 2000  # contacts a transaction: a few statements each, whatever the page's size
# Pages judged at once: one is read or written by the database while another is judged in Python.
LANES = 2
SWEEP_EVERY = timedelta(days=1)
SWEEP = "*"  # the progress row of a sweep over all of a workspace's segments
OnProgress = Callable[[int, int], None]  # (done, total)


class SegmentBackfill:
    def __init__(self, units: Units, journeys: Journeys, settings: SchedulerSettings, page: int = PAGE) -> None:
        self._units = units
        self._journeys = journeys
        self._memberships = Memberships(journeys)
        self._days = settings.history_days
        self._limit = settings.history_limit
        self._page = page

    async def begin(self, workspace_id: str, segment_id: str) -> tuple[datetime, int]:
        """Record a new run (its progress starts at 0); when it started and how many contacts it will judge."""
        started = self._units.clock()
        return started, await start_backfill(self._units.pool, workspace_id, segment_id, started)

    async def run(
        self,
        workspace_id: str,
        segment_id: str = SWEEP,
        on_progress: OnProgress | None = None,
        begun: tuple[datetime, int] | None = None,
    ) -> int:
        """Judge every contact of the workspace (all its segments); returns how many were judged."""
        started, total = begun or await self.begin(workspace_id, segment_id)
        cause: Cause = "backfill" if segment_id != SWEEP else "time"
        stamp = started.isoformat()
        after, done = "", 0
        lanes = asyncio.Semaphore(LANES)

        async def judged(page: list[str]) -> None:
            nonlocal done
            try:
                await self._judge_page(workspace_id, segment_id, started, stamp, cause, page)
            finally:
                lanes.release()
            done += len(page)
            if on_progress is not None:
                on_progress(done, max(total, done))

        try:
            async with asyncio.TaskGroup() as pages:
                while True:
                    await lanes.acquire()
                    page = await contact_page(self._units.pool, workspace_id, after, self._page)
                    if not page:
                        lanes.release()
                        break
                    pages.create_task(judged(page))
                    after = page[-1]
        except BaseExceptionGroup as failed:
            raise failed.exceptions[0] from None  # the first failure, as a run of one page at a time raised it
        await finish_backfill(self._units.pool, workspace_id, segment_id, started, self._units.clock())
        return done

    async def _judge_page(
        self, workspace_id: str, segment_id: str, started: datetime, stamp: str, cause: Cause, page: list[str]
    ) -> None:
        """One page in one transaction holding its contacts' locks: their views read together, then judged."""
        async with self._units.open() as unit:
            keys = [(workspace_id, c) for c in page]
            await lock_contacts(unit.connection, keys)
            # Without history when no condition reads it (flows read a changed contact's view anew, whole).
            history = any("history." in s.condition for s in await unit.segments(workspace_id))
            views = await load_views(
                unit.connection, keys, unit.now, days=self._days, limit=self._limit, with_history=history
            )
            unit.contacts.views.update(views)
            contacts = [views[key] for key in keys if key in views]  # one deleted since the page was read: gone
            await self._memberships.judge_page(
                unit, workspace_id, contacts, lambda c: stable_id("backfill", workspace_id, segment_id, stamp, c), cause
            )
            await note_progress(unit.connection, workspace_id, segment_id, len(page), started)

    async def unfinished(self) -> dict[tuple[str, str], tuple[datetime, int]]:
        """Segments' backfills not finished: (workspace, segment) -> (started at, contacts done)."""
        return await unfinished_backfills(self._units.pool)

    async def sweep(self, every: timedelta = SWEEP_EVERY) -> int:
        """Re-judge the contacts of every workspace with segments that move with time whose contacts were
        not all judged within `every`; returns how many were judged."""
        judged = 0
        for workspace_id in await workspaces_due_for_sweep(self._units.pool, self._units.clock() - every):
            judged += await self.run(workspace_id)
        return judged

    async def preview(self, workspace_id: str, segment: Segment, on_progress: OnProgress | None = None) -> int:
        """How many of the workspace's contacts the segment would hold now; nothing is written."""
        now = self._units.clock()
        after, members, done = "", 0, 0
        async with self._units.pool.acquire() as connection:
            total = await contact_count(connection, workspace_id)
            while page := await contact_page(connection, workspace_id, after, self._page):
                views = await load_views(
                    connection, [(workspace_id, c) for c in page], now, days=self._days, limit=self._limit,
                    with_history="history." in segment.condition,
                )  # fmt: skip
                members += sum(1 for view in views.values() if members_of([segment], view, now))
                after, done = page[-1], done + len(page)
                if on_progress is not None:
                    on_progress(done, max(total, done))
        return members
