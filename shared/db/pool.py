"""asyncpg pools: the services' queries are few, hot and hand-written, so no ORM on the hot path."""

from __future__ import annotations

import asyncpg

from shared.db.url import database_url
from shared.settings import CommonSettings


async def _end_open_transaction(connection: asyncpg.Connection) -> None:
    """What a released connection needs here: no transaction left open.

    asyncpg's default reset also clears session settings, LISTENs, cursors and advisory locks
    with an extra round trip per release; Dripline uses none of those at session level (only
    `SET LOCAL` and transaction-scoped advisory locks), so that round trip is pure cost.
    """
    if connection.is_in_transaction():
        await connection.execute("ROLLBACK")


async def create_pool(settings: CommonSettings, *, min_size: int = 1) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url(settings),
        min_size=min_size,
        max_size=settings.db_pool_size,
        command_timeout=30,
        reset=_end_open_transaction,
    )
    assert pool is not None
    return pool
