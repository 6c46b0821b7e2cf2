"""How long personal data is kept: the retention pass over every store that grows per contact.

What a store keeps and for how long is listed in docs/privacy.md; this is where it is enforced.
A pass deletes (or, for consent evidence, blanks) rows older than their period in slices of
`SLICE` rows, each its own short statement, so it never holds long locks; two replicas running it
at once only find less to do. The scheduler runs it every `DRIPLINE_RETENTION_INTERVAL_HOURS` as a
supervised loop. Contact history (`DRIPLINE_HISTORY_DAYS`) is trimmed by the timer loop already.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import structlog
from prometheus_client import Counter

from shared.consent import store as consent
from shared.errors import Transient
from shared.settings import SchedulerSettings

log = structlog.get_logger(__name__)

RETENTION = "retention"
SLICE = 5_000
REMOVED = Counter("dripline_retention_removed", "Rows deleted or blanked by the retention pass", ["store"])

# (store, statement deleting one slice older than $1): the messages' rows, once their outcome is final.
_MESSAGES = {
    "send_ledger": "DELETE FROM send_ledger WHERE ctid IN (SELECT ctid FROM send_ledger WHERE updated_at < $1 "
    "AND state IN ('sent', 'failed', 'bounced', 'suppressed') AND reported LIMIT $2)",
    "message_requests": "DELETE FROM message_requests WHERE ctid IN "
    "(SELECT ctid FROM message_requests WHERE requested_at < $1 LIMIT $2)",
}
# Per-contact engagement; the daily totals per flow step (analytics_daily) hold no contact and stay.
_ENGAGEMENT = {
    "analytics_messages": "DELETE FROM analytics_messages WHERE ctid IN (SELECT ctid FROM analytics_messages "
    "WHERE GREATEST(requested_at, sent_at, failed_at, bounced_at, suppressed_at, last_opened_at, last_clicked_at, "
    "unsubscribed_at) < $1 LIMIT $2)",
    "analytics_attributions": "DELETE FROM analytics_attributions WHERE ctid IN "
    "(SELECT ctid FROM analytics_attributions WHERE purchased_at < $1 LIMIT $2)",
    "analytics_entries": "DELETE FROM analytics_entries WHERE ctid IN "
    "(SELECT ctid FROM analytics_entries WHERE entered_at < $1 LIMIT $2)",
}


@dataclass(frozen=True)
class RetentionPeriods:
    messages: timedelta
    engagement: timedelta
    consent_evidence: timedelta

    @classmethod
    def of(cls, settings: SchedulerSettings) -> RetentionPeriods:
        return cls(
            timedelta(days=settings.message_retention_days),
            timedelta(days=settings.engagement_retention_days),
            timedelta(days=settings.consent_evidence_retention_days),
        )


async def _sliced(pool: asyncpg.Pool, statement: str, before: datetime) -> int:
    removed = 0
    while True:
        status = await pool.execute(statement, before, SLICE)
        count = int(str(status).rsplit(" ", 1)[-1])
        removed += count
        if count < SLICE:
            return removed


async def _evidence(pool: asyncpg.Pool, before: datetime) -> int:
    removed = 0
    while True:
        async with pool.acquire() as connection, connection.transaction():
            count = await consent.blank_old_evidence(connection, before, SLICE)
        removed += count
        if count < SLICE:
            return removed


async def retention_pass(pool: asyncpg.Pool, periods: RetentionPeriods, now: datetime) -> dict[str, int]:
    """Every store past its period, trimmed; rows removed (or blanked) by store."""
    removed: dict[str, int] = {}
    for stores, period in ((_MESSAGES, periods.messages), (_ENGAGEMENT, periods.engagement)):
        for store, statement in stores.items():
            removed[store] = await _sliced(pool, statement, now - period)
    removed["consent_ledger evidence"] = await _evidence(pool, now - periods.consent_evidence)
    for store, count in removed.items():
        if count:
            REMOVED.labels(store).inc(count)
    return removed


class RetentionLoop:
    def __init__(
        self, pool: asyncpg.Pool, settings: SchedulerSettings, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self._pool = pool
        self._periods = RetentionPeriods.of(settings)
        self._every = settings.retention_interval_hours * 3600
        self._clock = clock
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                removed = await retention_pass(self._pool, self._periods, self._clock())
                log.info("retention.pass", **{store.replace(" ", "_"): count for store, count in removed.items()})
            except (Transient, OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("retention.pass_failed", reason=repr(error))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._every)

    def finish(self) -> None:
        """The slice in hand finishes; no new pass starts."""
        self._stopping.set()
