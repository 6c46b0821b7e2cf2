"""Keeps the backlog gauges current: records waiting in the outbox and how long the oldest has waited,
and how late the most overdue timer is.

An outbox that only grows means the relay cannot reach the broker; a timer lag that only grows means the
timer workers fire slower than timers come due. Both are one cheap query (by primary key and by the
`timers_due` index, plus a sum over the outbox's few rows), run every few seconds rather than on scrape,
so a scrape never waits on PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncpg
from prometheus_client import Gauge

from services.scheduler.unit_of_work.unit import Clock, system_clock
from shared.refresh_loop import RefreshLoop

BACKLOG_WATCH = "backlog-watch"
EVERY_SECONDS = 15.0
OUTBOX_RECORDS = Gauge("dripline_outbox_records", "Records committed to the outbox and not yet relayed to the broker")
OUTBOX_AGE = Gauge(
    "dripline_outbox_oldest_seconds", "How long the oldest record in the outbox has waited for the relay (0: none)"
)
TIMER_LAG = Gauge(
    "dripline_timer_lag_seconds", "Now minus the due time of the most overdue timer not yet fired (0: none)"
)

_BACKLOG = """
SELECT (SELECT coalesce(sum(record_count), 0) FROM outbox) AS outbox_records,
       (SELECT extract(epoch FROM now() - created_at) FROM outbox ORDER BY id LIMIT 1) AS outbox_age,
       (SELECT min(due_at) FROM timers) AS first_due
"""


@dataclass(frozen=True)
class Backlog:
    outbox_records: int
    outbox_age_seconds: float
    timer_lag_seconds: float


class BacklogWatch(RefreshLoop):
    def __init__(
        self, pool: asyncpg.Pool, clock: Clock = system_clock, *, every_seconds: float = EVERY_SECONDS
    ) -> None:
        super().__init__(self.refresh, every_seconds=every_seconds, failure_event="scheduler.backlog_watch_failed")
        self._pool, self._clock = pool, clock

    async def refresh(self) -> Backlog:
        row = await self._pool.fetchrow(_BACKLOG)
        assert row is not None  # a SELECT of subqueries returns one row
        first_due = row["first_due"]
        backlog = Backlog(
            outbox_records=int(row["outbox_records"]),
            outbox_age_seconds=max(0.0, float(row["outbox_age"] or 0)),
            timer_lag_seconds=max(0.0, (self._clock() - first_due).total_seconds()) if first_due else 0.0,
        )
        OUTBOX_RECORDS.set(backlog.outbox_records)
        OUTBOX_AGE.set(backlog.outbox_age_seconds)
        TIMER_LAG.set(backlog.timer_lag_seconds)
        return backlog
