"""The shared token buckets' table (`rate_limit_buckets`, migration 0016): lease tokens in one statement.

Refilling and taking happen in one UPDATE on the bucket's row, under its row lock, with the
database's clock, so replicas with clocks of their own still count one bucket.
"""

from __future__ import annotations

import asyncio

import asyncpg

from shared.rate_limits import RateLimit

__all__ = ["PostgresBuckets"]

_NOW = "extract(epoch FROM clock_timestamp())"
# $1 name, $2 rate per second, $3 burst, $4 tokens wanted.
_LEASE = f"""
WITH bucket AS (
    SELECT name, least($3::float8, tokens + greatest(0, {_NOW} - counted_at) * $2::float8) AS held, {_NOW} AS now
    FROM rate_limit_buckets WHERE name = $1 FOR UPDATE
), taken AS (
    SELECT name, held, now, least($4::float8, floor(held + 1e-9)) AS granted FROM bucket
)
UPDATE rate_limit_buckets AS b SET tokens = greatest(0, t.held - t.granted), counted_at = t.now
FROM taken AS t WHERE b.name = t.name
RETURNING t.granted::int AS granted, t.held
"""
_CREATE = f"INSERT INTO rate_limit_buckets (name, tokens, counted_at) VALUES ($1, $2, {_NOW}) ON CONFLICT DO NOTHING"
_TIMEOUT = 2.0  # seconds: past this a replica counts on its own bucket


class PostgresBuckets:
    """A `BucketStore` on the services' database pool."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    async def lease(self, name: str, limit: RateLimit, want: int) -> tuple[int, float] | None:
        args = (name, limit.per_second, limit.burst, want)
        try:
            async with asyncio.timeout(_TIMEOUT):
                row = await self._pool.fetchrow(_LEASE, *args)
                if row is None:  # a name's first lease: its bucket starts full
                    await self._pool.execute(_CREATE, name, float(limit.burst))
                    row = await self._pool.fetchrow(_LEASE, *args)
        except (OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError):
            return None
        return (int(row["granted"]), float(row["held"])) if row else None
