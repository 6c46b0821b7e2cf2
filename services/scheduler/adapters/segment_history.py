"""Entries into and exits from a segment per day, read from contacts' histories."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

# The partial index of migration 0028 holds only these two types, by workspace, segment and time.
_DAILY = """
SELECT (occurred_at AT TIME ZONE 'UTC')::date AS day,
       count(*) FILTER (WHERE type = 'segment_entered') AS entered,
       count(*) FILTER (WHERE type = 'segment_left') AS left
FROM contact_history
WHERE workspace_id = $1 AND type IN ('segment_entered', 'segment_left') AND data->>'segment' = $2
  AND occurred_at >= $3
GROUP BY 1
"""


async def daily_changes(
    connection: asyncpg.Pool | asyncpg.Connection, workspace_id: str, segment_id: str, since: datetime
) -> dict[date, tuple[int, int]]:
    """(entered, left) by UTC day since `since`."""
    rows = await connection.fetch(_DAILY, workspace_id, segment_id, since)
    return {row["day"]: (row["entered"], row["left"]) for row in rows}
