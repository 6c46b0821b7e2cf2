"""Reads for the reports: named queries over the analytics tables."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg

from services.scheduler.analytics.adapters.tables import DAILY_COUNTERS

Db: TypeAlias = "asyncpg.Pool | asyncpg.Connection"
_SUMS = ", ".join(f"sum({c})::bigint AS {c}" for c in DAILY_COUNTERS)


@asynccontextmanager
async def snapshot(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """One connection reading one snapshot: a report's parts (totals, steps, revenue) add up even while
    the fold commits between its queries."""
    async with pool.acquire() as connection, connection.transaction(isolation="repeatable_read", readonly=True):
        yield connection


async def _rows(db: Db, sql: str, *args: Any) -> list[dict[str, Any]]:
    return [dict(row) for row in await db.fetch(sql, *args)]


async def totals_by_flow(db: Db, workspace_id: str) -> list[dict[str, Any]]:
    return await _rows(
        db, f"SELECT flow_id, {_SUMS} FROM analytics_daily WHERE workspace_id = $1 GROUP BY flow_id ORDER BY flow_id",
        workspace_id,
    )  # fmt: skip


async def totals_by_step(db: Db, workspace_id: str, flow_id: str) -> list[dict[str, Any]]:
    return await _rows(
        db, f"SELECT step_id, {_SUMS} FROM analytics_daily WHERE workspace_id = $1 AND flow_id = $2 GROUP BY step_id",
        workspace_id, flow_id,
    )  # fmt: skip


async def totals_by_variant(db: Db, workspace_id: str, flow_id: str) -> list[dict[str, Any]]:
    """Per step and variant: what the split counted (reached) and what followed it."""
    return await _rows(
        db,
        f"SELECT step_id, variant, {_SUMS} FROM analytics_daily WHERE workspace_id = $1 AND flow_id = $2 "
        "AND variant <> '' GROUP BY step_id, variant ORDER BY step_id, variant",
        workspace_id, flow_id,
    )  # fmt: skip


async def days(db: Db, workspace_id: str, flow_id: str) -> list[dict[str, Any]]:
    return await _rows(
        db,
        "SELECT day, sum(delivered)::bigint AS delivered, sum(opened)::bigint AS opened, "
        "sum(clicked)::bigint AS clicked, sum(opens_unknown)::bigint AS opens_unknown "
        "FROM analytics_daily WHERE workspace_id = $1 AND flow_id = $2 "
        "AND step_id <> '' GROUP BY day ORDER BY day",
        workspace_id, flow_id,
    )  # fmt: skip


async def links(db: Db, workspace_id: str, flow_id: str, limit: int = 10) -> list[dict[str, Any]]:
    return await _rows(
        db,
        "SELECT step_id, url, clicks FROM analytics_links WHERE workspace_id = $1 AND flow_id = $2 "
        "ORDER BY clicks DESC, url LIMIT $3",
        workspace_id, flow_id, limit,
    )  # fmt: skip


async def revenue(db: Db, workspace_id: str, flow_id: str | None, by: str) -> list[dict[str, Any]]:
    """Attributed orders and revenue per currency, grouped by `flow_id`, `step_id` or `variant`."""
    group = {"flow_id": "flow_id", "step_id": "step_id", "variant": "variant"}[by]
    return await _rows(
        db,
        f"SELECT {group} AS key, currency, count(*)::bigint AS orders, sum(revenue) AS revenue "
        "FROM analytics_attributions WHERE workspace_id = $1 AND ($2::text IS NULL OR flow_id = $2) "
        f"GROUP BY {group}, currency ORDER BY {group}, currency",
        workspace_id, flow_id,
    )  # fmt: skip


async def winners(db: Db, workspace_id: str, flow_id: str) -> list[dict[str, Any]]:
    return await _rows(
        db,
        "SELECT step_id, variant, metric, confidence, decided_at FROM analytics_winners "
        "WHERE workspace_id = $1 AND flow_id = $2 ORDER BY step_id",
        workspace_id, flow_id,
    )  # fmt: skip


async def declare_winner(
    db: Db, workspace_id: str, flow_id: str, step_id: str, variant: str, metric: str, confidence: float
) -> datetime | None:
    """Record a winner once; answers when, if this call declared it."""
    decided: datetime | None = await db.fetchval(
        "INSERT INTO analytics_winners (workspace_id, flow_id, step_id, variant, metric, confidence) "
        "VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING RETURNING decided_at",
        workspace_id, flow_id, step_id, variant, metric, confidence,
    )  # fmt: skip
    return decided


_COHORTS = """
SELECT e.flow_id, date_trunc('week', e.entered_at AT TIME ZONE 'UTC')::date AS week,
       count(*)::bigint AS contacts, count(s.first_at)::bigint AS signed_up,
       count(*) FILTER (WHERE p.first_at >= s.first_at)::bigint AS purchasers,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN p.first_at >= s.first_at
           THEN extract(epoch FROM p.first_at - s.first_at) / 3600 END) AS median_hours_to_purchase,
       count(*) FILTER (WHERE v.first_at >= s.first_at)::bigint AS reached_value,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN v.first_at >= s.first_at
           THEN extract(epoch FROM v.first_at - s.first_at) / 3600 END) AS median_hours_to_value
FROM analytics_entries e
LEFT JOIN analytics_firsts s ON s.workspace_id = e.workspace_id AND s.contact_id = e.contact_id
     AND s.event_type = 'signup'
LEFT JOIN analytics_firsts p ON p.workspace_id = e.workspace_id AND p.contact_id = e.contact_id
     AND p.event_type = 'purchase'
LEFT JOIN analytics_firsts v ON v.workspace_id = e.workspace_id AND v.contact_id = e.contact_id
     AND v.event_type = $3
WHERE e.workspace_id = $1 AND ($2::text IS NULL OR e.flow_id = $2)
GROUP BY 1, 2 ORDER BY 1, 2
"""


async def cohorts(db: Db, workspace_id: str, flow_id: str | None, value_event: str) -> list[dict[str, Any]]:
    return await _rows(db, _COHORTS, workspace_id, flow_id, value_event)
