"""Every named consent query is valid against the migrated schema, including those few paths reach."""

from __future__ import annotations

import asyncpg
import pytest

from shared.consent import queries

pytestmark = pytest.mark.stack

NAMED = {name: value for name, value in vars(queries).items() if name.isupper() and isinstance(value, str)}


async def test_every_named_consent_query_prepares_against_the_schema(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as connection:
        failed = {}
        for name, sql in sorted(NAMED.items()):
            try:
                await connection.prepare(sql)
            except asyncpg.PostgresError as error:
                failed[name] = str(error)
    assert not failed, failed
