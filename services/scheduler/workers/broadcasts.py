"""The broadcast loop: every live broadcast moved on a transaction at a time, on any number of replicas.

Each step locks its broadcast's row (`SKIP LOCKED`), so replicas share the broadcasts between them, never one
broadcast's step. A crash rolls back the step in hand; the next round (on this replica after the
supervisor's restart, or on another) takes it up from the rows. While any broadcast had work the loop goes
round again at once; otherwise it sleeps `broadcast_poll_seconds` (or until woken by the API).
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

from services.scheduler.adapters.broadcasts import live_broadcasts
from services.scheduler.unit_of_work.unit import Units
from services.scheduler.usecases.broadcasts import BroadcastSending, PickWinner, Round
from shared.errors import Transient
from shared.settings import SchedulerSettings

log = structlog.get_logger(__name__)

BROADCASTS = "broadcasts"


class BroadcastLoop:
    def __init__(self, units: Units, settings: SchedulerSettings, pick_winner: PickWinner | None = None) -> None:
        self._units = units
        self._sending = BroadcastSending(units, settings, pick_winner)
        self._poll = settings.broadcast_poll_seconds
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self.requested = 0

    def wake(self) -> None:
        """A broadcast was scheduled or resumed: look now."""
        self._wake.set()

    async def run_once(self) -> bool:
        """One step of each live broadcast; True when any of them did something."""
        busy = False
        for workspace_id, broadcast_id in await live_broadcasts(self._units.pool, self._units.clock()):
            if self._stopping.is_set():
                break
            done: Round = await self._sending.step(workspace_id, broadcast_id)
            self.requested += done.requested
            if done.finished:
                log.info("broadcast.sent", workspace_id=workspace_id, broadcast_id=broadcast_id)
            busy = busy or bool(done.resolved or done.requested or done.held or done.deferred or done.finished)
        return busy

    async def run(self) -> None:
        while not self._stopping.is_set():
            busy = False
            try:
                busy = await self.run_once()
            except (Transient, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("broadcast.round_failed", reason=repr(error))
            if busy:
                await asyncio.sleep(0)
                continue
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self._poll)

    def finish(self) -> None:
        """The step in hand commits or rolls back whole; no new one starts."""
        self._stopping.set()
        self._wake.set()
