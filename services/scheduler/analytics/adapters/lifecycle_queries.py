"""Reads for the lifecycle report: each entrant's orders (first, second, before and after entering),
grouped by entry week, with the whole flow as the row whose week is null."""

from __future__ import annotations

from typing import Any

import asyncpg

# Each entrant's orders are found through `contact_orders_contact` (workspace, contact, ordered_at).
_REPEAT_AND_REACTIVATION = """
WITH entrants AS (
    SELECT date_trunc('week', e.entered_at AT TIME ZONE 'UTC')::date AS week, o.*
    FROM analytics_entries e
    CROSS JOIN LATERAL (
        SELECT min(c.ordered_at) AS first_at,
               (SELECT s.ordered_at FROM contact_orders s
                WHERE s.workspace_id = e.workspace_id AND s.contact_id = e.contact_id
                ORDER BY s.ordered_at OFFSET 1 LIMIT 1) AS second_at,
               coalesce(bool_or(c.ordered_at < e.entered_at), false) AS before_entry,
               coalesce(bool_or(c.ordered_at >= e.entered_at), false) AS after_entry
        FROM contact_orders c WHERE c.workspace_id = e.workspace_id AND c.contact_id = e.contact_id
    ) AS o
    WHERE e.workspace_id = $1 AND e.flow_id = $2
)
SELECT week, count(*)::bigint AS contacts, count(first_at)::bigint AS buyers,
       count(second_at)::bigint AS repeat_buyers,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM second_at - first_at) / 3600)
           AS median_hours_to_second_purchase,
       count(*) FILTER (WHERE before_entry)::bigint AS customers_at_entry,
       count(*) FILTER (WHERE before_entry AND after_entry)::bigint AS reactivated
FROM entrants GROUP BY GROUPING SETS ((week), ()) ORDER BY week NULLS LAST
"""


async def repeat_and_reactivation(db: asyncpg.Pool, workspace_id: str, flow_id: str) -> list[dict[str, Any]]:
    """One row per entry week, then the flow's total (week None); nothing when nobody entered."""
    rows = [dict(row) for row in await db.fetch(_REPEAT_AND_REACTIVATION, workspace_id, flow_id)]
    return rows if any(row["contacts"] for row in rows) else []
