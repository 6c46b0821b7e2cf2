"""One broadcast's report: the funnel of its messages per variant, the test's decision, links and revenue.

The use case the reports API, `dripline report broadcast` and the console's broadcast pages call.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal

import asyncpg

from services.scheduler.adapters.broadcasts import broadcast
from services.scheduler.analytics.adapters import broadcast_queries as queries
from services.scheduler.analytics.adapters.queries import snapshot
from services.scheduler.analytics.domain.broadcast_report import (
    BroadcastLinkRow,
    BroadcastReport,
    total_of,
    variant_row,
)
from services.scheduler.analytics.domain.report_models import Counts, Revenue

__all__ = ["broadcast_report"]


async def broadcast_report(pool: asyncpg.Pool, workspace_id: str, broadcast_id: str) -> BroadcastReport | None:
    """None when the workspace has no such broadcast. Read from one snapshot, so revenue and funnel agree."""
    async with snapshot(pool) as db:
        found = await broadcast(db, workspace_id, broadcast_id)
        if found is None:
            return None
        revenue_rows = await queries.revenue_by_variant(db, workspace_id, broadcast_id)
        funnel_rows = await queries.funnel_by_variant(db, workspace_id, broadcast_id)
        link_rows = await queries.clicked_links(db, workspace_id, broadcast_id)
    money: dict[str, list[Revenue]] = defaultdict(list)
    for row in revenue_rows:
        money[row["key"]].append(
            Revenue(currency=row["currency"], orders=row["orders"], revenue=Decimal(row["revenue"]))
        )
    variants = [
        variant_row(row["variant"], Counts.model_validate({k: v for k, v in row.items() if k in Counts.model_fields}),
                    money.get(row["variant"], []))
        for row in funnel_rows
    ]  # fmt: skip
    counts, revenue = total_of(variants)
    links = [BroadcastLinkRow(**row) for row in link_rows]
    return BroadcastReport(
        broadcast_id=broadcast_id, name=found.spec.name, state=found.state, frozen_at=found.frozen_at,
        finished_at=found.finished_at, counts=counts, open_rate=counts.open_rate, click_rate=counts.click_rate,
        unsubscribe_rate=counts.unsubscribed / counts.delivered if counts.delivered else 0.0,
        orders=sum(r.orders for r in revenue), revenue=revenue, variants=variants, winner=found.winner,
        decision=found.decision, links=links,
    )  # fmt: skip
