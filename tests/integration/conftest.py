"""Fixtures for integration tests that talk to the real database directly."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests.support.stack import RealStack


@pytest.fixture
async def pool(stack: RealStack) -> AsyncIterator[asyncpg.Pool]:
    """A small pool on the test database, closed after the test."""
    pool = await asyncpg.create_pool(stack.database_url, min_size=1, max_size=4)
    assert pool is not None
    try:
        yield pool
    finally:
        await pool.close()
