"""Each sending domain's emails per day (`sending_volume`), which its warm-up caps across every sender replica."""

from __future__ import annotations

from datetime import date

import asyncpg

# One statement: the row's lock orders concurrent replicas, and each gets what is left of the day.
_RESERVE = """
WITH before AS (
  SELECT sent FROM sending_volume WHERE sending_domain = $1 AND day = $2 FOR UPDATE
)
UPDATE sending_volume v SET sent = LEAST(v.sent + $3, GREATEST($4, v.sent))
FROM before WHERE v.sending_domain = $1 AND v.day = $2
RETURNING v.sent - before.sent AS granted
"""


class SendingVolume:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def reserve(self, sending_domain: str, day: date, wanted: int, limit: int) -> int:
        """Take up to `wanted` of the day's `limit` for `sending_domain`; how many were granted."""
        async with self._pool.acquire() as connection, connection.transaction():
            await connection.execute(
                "INSERT INTO sending_volume (sending_domain, day) VALUES ($1, $2) ON CONFLICT DO NOTHING",
                sending_domain,
                day,
            )
            granted: int = await connection.fetchval(_RESERVE, sending_domain, day, wanted, limit)
        return granted

    async def give_back(self, sending_domain: str, day: date, count: int) -> None:
        """Granted but not sent after all (held for its receiving domain's pace)."""
        await self._pool.execute(
            "UPDATE sending_volume SET sent = GREATEST(sent - $3, 0) WHERE sending_domain = $1 AND day = $2",
            sending_domain,
            day,
            count,
        )

    async def sent_on(self, sending_domain: str, day: date) -> int:
        found: int | None = await self._pool.fetchval(
            "SELECT sent FROM sending_volume WHERE sending_domain = $1 AND day = $2", sending_domain, day
        )
        return found or 0
