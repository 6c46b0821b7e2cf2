"""How far behind delivery is, read from the send ledger (for the sender's gauges)."""

from __future__ import annotations

import asyncpg

# `claimed` rows are few (a message leaves the state when its attempt starts), so this stays cheap.
_OLDEST_CLAIMED = """
SELECT coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8
FROM send_ledger WHERE state = 'claimed'
"""


async def oldest_claimed_seconds(pool: asyncpg.Pool) -> float:
    """Age of the oldest message claimed but not yet attempted; 0 when there is none."""
    return float(await pool.fetchval(_OLDEST_CLAIMED))
