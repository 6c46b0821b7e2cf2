"""Takes back deferred messages when they are due, and messages a dead sender left half done."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

import asyncpg
import structlog

from services.sender.usecases.dispatch import Dispatcher
from shared.errors import Transient

log = structlog.get_logger(__name__)


class RetryLoop:
    def __init__(self, dispatcher: Dispatcher, *, poll_seconds: float, stale_after_seconds: float, batch: int = 50):
        self._dispatcher = dispatcher
        self._poll = poll_seconds
        self._stale_after = timedelta(seconds=stale_after_seconds)
        self._batch = batch
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except (asyncpg.PostgresError, OSError, Transient) as error:
                log.warning("retry.round_failed", reason=repr(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._poll)

    async def run_once(self) -> int:
        """One round: attempt what is due (as one batch), then report leftover outcomes.

        A database error leaves the taken messages claimed; the stale-send rule takes them back."""
        dispatcher = self._dispatcher
        due = await dispatcher.ledger.take_due(
            limit=self._batch, stale_after=self._stale_after, held=dispatcher.leases.held
        )
        await dispatcher.attempt_all(due)
        await dispatcher.reporter.report_leftovers()
        return len(due)

    def stop(self) -> None:
        """The round in hand finishes (its sends complete); no new round starts."""
        self._stopping.set()
