"""asyncpg pools: the services' queries are few, hot and hand-written, so no ORM on the hot path."""

from __future__ import annotations

import asyncpg

from shared.db.url import database_url
from shared.settings import CommonSettings


async def create_pool(settings: CommonSettings, *, min_size: int = 1) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(
        database_url(settings),
        min_size=min_size,
        max_size=settings.db_pool_size,
        command_timeout=30,
    )
    assert pool is not None
    return pool
