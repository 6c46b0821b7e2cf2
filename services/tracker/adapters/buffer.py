"""Engagement records wait here briefly, so a pixel or a redirect never waits for the broker.

A background loop sends them in batches (every `interval` or once `batch` are waiting).
When the broker is away, records stay and are retried; past `limit` new ones are dropped
and counted, so an outage costs some opens and clicks but never the process's memory.
On shutdown everything left is sent before the producer closes.
"""

from __future__ import annotations

import asyncio
import contextlib

import structlog
from prometheus_client import Counter, Gauge

from shared.errors import BrokerUnavailable
from shared.kafka.producer import OutgoingRecord, Producer

__all__ = ["EngagementBuffer"]

log = structlog.get_logger(__name__)

SENT = Counter("dripline_tracker_engagements_sent_total", "Engagement records the broker acknowledged")
DROPPED = Counter("dripline_tracker_engagements_dropped_total", "Hits dropped because the buffer was full")
WAITING = Gauge("dripline_tracker_engagements_waiting", "Hits in memory, not yet on the broker")

_MAX_SEND = 1_000  # handed to the producer in one go: bounds the pause a flush makes in the hits
_RETRY_SECONDS = 0.5


class EngagementBuffer:
    def __init__(self, *, interval_s: float, batch: int, limit: int) -> None:
        self._producer: Producer | None = None
        self._interval = interval_s
        self._batch = batch
        self._limit = limit
        self._waiting: list[OutgoingRecord] = []
        self._full = asyncio.Event()

    def add(self, record: OutgoingRecord) -> None:
        """Never blocks and never raises: the hot path calls this and answers at once.

        Records come already encoded, so a flush only hands bytes to the producer.
        """
        if len(self._waiting) >= self._limit:
            DROPPED.inc()
            return
        self._waiting.append(record)
        if len(self._waiting) >= self._batch:
            self._full.set()

    def __len__(self) -> int:
        return len(self._waiting)

    def attach(self, producer: Producer) -> None:
        """Where flushes send to; the service then runs `run` under its worker supervisor."""
        self._producer = producer

    async def stop(self, grace_s: float) -> None:
        """Send what is left, retrying until `grace_s` runs out (the supervisor has stopped `run` first)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace_s
        while self._waiting:
            if await self.flush():
                continue
            if loop.time() + _RETRY_SECONDS > deadline:
                log.error("tracker.engagements_lost_on_shutdown", count=len(self._waiting))
                DROPPED.inc(len(self._waiting))
                self._waiting.clear()
                break
            await asyncio.sleep(_RETRY_SECONDS)
        WAITING.set(0)

    async def flush(self) -> bool:
        """Send up to one batch; False (records kept, in order) when the broker did not take it."""
        if not self._waiting:
            return True
        if self._producer is None:
            return False
        taken, self._waiting = self._waiting[:_MAX_SEND], self._waiting[_MAX_SEND:]
        try:
            await self._producer.send_all(taken)
        except BrokerUnavailable as error:
            self._waiting[:0] = taken
            log.warning("tracker.flush_failed", waiting=len(self._waiting), reason=str(error))
            return False
        except BaseException:
            self._waiting[:0] = taken  # whatever stops the loop, the hits wait for its restart
            raise
        SENT.inc(len(taken))
        return True

    async def run(self) -> None:
        """Flush every interval, or at once when a batch is waiting."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), self._interval)
            self._full.clear()
            WAITING.set(len(self._waiting))
            while self._waiting:
                if not await self.flush():
                    await asyncio.sleep(_RETRY_SECONDS)
                    break
                if len(self._waiting) < self._batch:
                    break
