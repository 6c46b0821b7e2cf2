"""Shared fixtures. The real stack starts only when a test asks for it, so unit tests stay fast."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from services.ingest.app import create_app as create_ingest
from shared.settings import IngestSettings
from tests.support.servers import serving
from tests.support.stack import RealStack, start_test_stack, stop_test_stack


@pytest.fixture(scope="session")
async def stack() -> AsyncIterator[RealStack]:
    started = await start_test_stack()
    yield started
    await stop_test_stack(started)


@pytest.fixture(scope="session")
async def api_key(stack: RealStack) -> tuple[str, str]:
    """A workspace and its key, made the way `dripline keys create` makes them."""
    import asyncpg

    from shared.workspaces import create_key, ensure_workspace

    connection = await asyncpg.connect(stack.database_url)
    try:
        await ensure_workspace(connection, "shop-one", "Shop one")
        return "shop-one", await create_key(connection, "shop-one", "tests")
    finally:
        await connection.close()


@pytest.fixture(scope="session")
async def ingest_url(stack: RealStack) -> AsyncIterator[str]:
    async with serving(create_ingest(stack.settings(IngestSettings))) as url:
        yield url


@pytest.fixture(scope="session")
async def shop(ingest_url: str, api_key: tuple[str, str]) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client as a shop would hold it: base URL and its API key."""
    async with httpx.AsyncClient(
        base_url=ingest_url, headers={"Authorization": f"Bearer {api_key[1]}"}, timeout=30
    ) as client:
        yield client
