"""The reconciliation pass: messages the scheduler requested that never reached the sender are requested again.

A broker can lose records it acknowledged: the local one keeps nothing across a restart, a replicated
Kafka loses what all its in-sync replicas lost. The requests live on in PostgreSQL
(`adapters/message_requests.py`); one the sender's send ledger still lacks after
`reconcile_after_seconds` goes through the outbox again, as the first one did, a bounded number per
round. The sender claims a message by its id, so a request that did arrive after all is dropped there.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable

import asyncpg
import structlog
from prometheus_client import Counter

from services.scheduler.adapters.message_requests import (
    Unanswered,
    forget,
    forget_recorded,
    requested_again,
    unanswered,
)
from shared.errors import Transient
from shared.outbox import enqueue
from shared.settings import SchedulerSettings

log = structlog.get_logger(__name__)

RECONCILE = "reconcile"
RE_REQUESTED = Counter(
    "dripline_scheduler_re_requested", "Messages requested again because the sender's ledger never got them"
)
GIVEN_UP = Counter(
    "dripline_scheduler_requests_given_up",
    "Messages no longer requested again: the sender's ledger still lacked them, or their contact was erased",
    ["reason"],
)
LONGEST_ROUND_GAP_SECONDS = 60.0


class Reconciliation:
    def __init__(self, pool: asyncpg.Pool, settings: SchedulerSettings, *, on_records: Callable[[], None]) -> None:
        self._pool = pool
        self._after = settings.reconcile_after_seconds
        self._batch = settings.reconcile_batch
        self._max_re_requests = settings.reconcile_max_re_requests
        self._every = min(self._after / 4, LONGEST_ROUND_GAP_SECONDS)
        self._on_records = on_records
        self._stopping = asyncio.Event()
        self.re_requested = 0

    async def run_once(self) -> int:
        """One round in one transaction; returns how many messages were requested again."""
        async with self._pool.acquire() as connection, connection.transaction():
            await forget_recorded(connection, limit=self._batch)
            found = await unanswered(connection, older_than_seconds=self._after, limit=self._batch)
            again: list[Unanswered] = []
            dropped: list[Unanswered] = []
            for request in found:
                keep = not request.erased and request.re_requests < self._max_re_requests
                (again if keep else dropped).append(request)
            await enqueue(connection, [request.record for request in again])
            await requested_again(connection, [request.message_id for request in again])
            await forget(connection, [request.message_id for request in dropped])
        # One line a round, not one a message: a sender far behind can leave hundreds at once.
        erased = [request.message_id for request in dropped if request.erased]
        unanswered_ids = [request.message_id for request in dropped if not request.erased]
        if erased:
            log.info("message.requests_dropped", reason="contact erased", count=len(erased), message_ids=erased[:20])
            GIVEN_UP.labels("erased").inc(len(erased))
        if unanswered_ids:
            reason = f"not in the send ledger after {self._max_re_requests} re-requests"
            log.error(
                "message.requests_given_up", reason=reason, count=len(unanswered_ids), message_ids=unanswered_ids[:20]
            )
            GIVEN_UP.labels("unanswered").inc(len(unanswered_ids))
        if again:
            log.warning("message.re_requested", count=len(again), message_ids=[r.message_id for r in again[:20]])
            RE_REQUESTED.inc(len(again))
            self.re_requested += len(again)
            self._on_records()
        return len(again)

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.run_once()
            except (Transient, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("reconcile.round_failed", reason=repr(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._every)

    def finish(self) -> None:
        """The round in hand commits or rolls back whole; no new one starts."""
        self._stopping.set()
