"""Keeps today's bounce, complaint and unsubscribe rates per workspace and receiving domain on /metrics.

The busiest receiving domains of each workspace get their own series; the rest are summed as `other`, so a
list of ten thousand small domains does not become ten thousand series.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import asyncpg
from prometheus_client import Gauge

from shared.deliverability import COMPLAINT_LIMIT, DomainDay, daily_rates
from shared.refresh_loop import RefreshLoop

DELIVERABILITY_WATCH = "deliverability-watch"
EVERY_SECONDS = 300.0
DOMAINS_PER_WORKSPACE = 20
LABELS = ("workspace_id", "receiving_domain")
SENT = Gauge("dripline_email_sent_today", "Emails sent today (UTC) by receiving domain", LABELS)
RATE = Gauge(
    "dripline_email_feedback_rate_today",
    "Today's bounces, complaints and readers' unsubscribes as a share of emails sent, by receiving domain",
    (*LABELS, "kind"),
)
OVER_LIMIT = Gauge(
    "dripline_complaint_rate_over_limit",
    f"1 when today's complaint rate is at or above {COMPLAINT_LIMIT:.1%} (Gmail and Yahoo's limit)",
    LABELS,
)


def busiest(days: Iterable[DomainDay], keep: int = DOMAINS_PER_WORKSPACE) -> list[DomainDay]:
    """Each workspace's ``keep`` busiest domains as they are, the rest summed as `other`."""
    kept: list[DomainDay] = []
    rest: dict[str, list[int]] = {}
    seen: dict[str, int] = {}
    for day in sorted(days, key=lambda d: (d.workspace_id, -d.sent, d.receiving_domain)):
        seen[day.workspace_id] = seen.get(day.workspace_id, 0) + 1
        if seen[day.workspace_id] <= keep:
            kept.append(day)
            continue
        sums = rest.setdefault(day.workspace_id, [0, 0, 0, 0])
        for n, value in enumerate((day.sent, day.bounced, day.complained, day.unsubscribed)):
            sums[n] += value
    kept += [DomainDay(workspace, "other", *sums) for workspace, sums in rest.items()]
    return kept


class DeliverabilityWatch(RefreshLoop):
    def __init__(self, pool: asyncpg.Pool, *, every_seconds: float = EVERY_SECONDS) -> None:
        super().__init__(self.refresh, every_seconds=every_seconds, failure_event="tracker.deliverability_watch_failed")
        self._pool = pool

    async def refresh(self) -> list[DomainDay]:
        days = busiest(await daily_rates(self._pool, datetime.now(UTC).date()))
        for gauge in (SENT, RATE, OVER_LIMIT):
            gauge.clear()  # yesterday's domains go; a rate is today's or nothing
        for day in days:
            labels = (day.workspace_id, day.receiving_domain)
            SENT.labels(*labels).set(day.sent)
            for kind, count in (
                ("bounce", day.bounced),
                ("complaint", day.complained),
                ("unsubscribe", day.unsubscribed),
            ):
                rate = day.rate(count)
                if rate is not None:
                    RATE.labels(*labels, kind).set(rate)
            OVER_LIMIT.labels(*labels).set(1 if day.warnings() else 0)
        return days
