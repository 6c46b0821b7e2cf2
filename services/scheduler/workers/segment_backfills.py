"""Backfills running in the background of this replica, and the daily sweep of segments with time in them
(`segment_backfills` says when each workspace was last swept or backfilled).

A backfill cut short (the replica stopped or crashed mid-way) is started over: every ten minutes the
timer loop looks at the unfinished ones, and one whose progress has not moved since the last look and
that does not run here starts again from the first contact. Judging again is harmless: contacts whose
memberships were already written give no change, so nothing is published twice."""

from __future__ import annotations

import asyncio
from datetime import datetime

import structlog

from services.scheduler.usecases.segment_backfill import SegmentBackfill

log = structlog.get_logger(__name__)
SWEEP_CHECK_SECONDS = 600.0


class Backfills:
    """Starts a segment's backfill as a task (one per segment at a time) and keeps it until it ends."""

    def __init__(self, backfill: SegmentBackfill) -> None:
        self.backfill = backfill
        self._running: dict[tuple[str, str], asyncio.Task[int]] = {}
        self._swept_at = 0.0
        self._sweep: asyncio.Task[int] | None = None
        self._unfinished: dict[tuple[str, str], tuple[datetime, int]] = {}  # as seen at the last look

    async def start(self, workspace_id: str, segment_id: str) -> None:
        """Its progress row is written before this returns, so a read right after shows the run."""
        key = (workspace_id, segment_id)
        earlier = self._running.get(key)
        if earlier is not None and not earlier.done():
            earlier.cancel()  # the segment changed again: the new run judges everyone anew
        begun = await self.backfill.begin(workspace_id, segment_id)
        run = self.backfill.run(workspace_id, segment_id, begun=begun)
        task = asyncio.create_task(run, name=f"backfill-{segment_id}")
        self._running[key] = task
        task.add_done_callback(lambda done: self._ended(key, done))

    def _ended(self, key: tuple[str, str], task: asyncio.Task[int]) -> None:
        if self._running.get(key) is task:
            del self._running[key]
        if not task.cancelled() and task.exception() is not None:
            log.error("segments.backfill_failed", workspace_id=key[0], segment_id=key[1], reason=repr(task.exception()))

    def sweep_if_due(self, now: float) -> None:
        """Start the daily sweep of the workspaces that are due (looked for every ten minutes at most) as a
        task of its own, so the timer worker that asks keeps firing timers while it runs."""
        if self._swept_at and now - self._swept_at < SWEEP_CHECK_SECONDS:
            return
        if self._sweep is not None and not self._sweep.done():
            return
        self._swept_at = now
        self._sweep = asyncio.create_task(self._swept(), name="segment-sweep")
        self._sweep.add_done_callback(lambda done: self._ended(("*", "*"), done))

    async def resume_stalled(self) -> list[tuple[str, str]]:
        """Start over the unfinished backfills whose progress has not moved since the last look and that do
        not run in this replica (cut short by a stop); returns their (workspace, segment)."""
        unfinished = await self.backfill.unfinished()
        stalled = [
            key for key, seen in unfinished.items() if self._unfinished.get(key) == seen and key not in self._running
        ]
        self._unfinished = unfinished
        for workspace_id, segment_id in stalled:
            log.info("segments.backfill_restarted", workspace_id=workspace_id, segment_id=segment_id)
            await self.start(workspace_id, segment_id)
        return stalled

    async def _swept(self) -> int:
        await self.resume_stalled()
        judged = await self.backfill.sweep()
        if judged:
            log.info("segments.swept", contacts=judged)
        return judged

    async def stop(self) -> None:
        tasks = [*self._running.values(), *([self._sweep] if self._sweep else [])]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
