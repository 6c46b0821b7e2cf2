"""A production service will not start while the demo workspace's built-in API key is live in its database."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator

import asyncpg
import pytest

from dripline.devstack.postgres import drop_database, ensure_database, with_database
from services.tracker.app import create_app
from shared.db.migrate import upgrade_async
from shared.secret_rules import DEMO_API_KEY, UnsafeSecret, builtin_value
from shared.settings import CommonSettings, DevStackSettings, TrackerSettings
from shared.workspaces import create_key, ensure_workspace, revoke_key
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack


@pytest.fixture
async def seeded(stack: RealStack) -> AsyncIterator[tuple[str, str]]:
    """A database of its own (a live demo key would stop every other test's services), seeded as
    `dripline run` seeds the local stack; yields its URL and the demo key's id."""
    url = with_database(stack.database_url, f"dripline_demo_{secrets.token_hex(3)}")
    await ensure_database(url)
    try:
        await upgrade_async(stack.settings(CommonSettings, database_url=url))
        connection = await asyncpg.connect(url)
        try:
            await ensure_workspace(connection, "demo", "Demo shop")
            demo = builtin_value(DevStackSettings, DEMO_API_KEY)
            assert demo is not None
            await create_key(connection, "demo", "demo", demo)
            key_id = await connection.fetchval("SELECT id FROM api_keys WHERE workspace_id = 'demo'")
        finally:
            await connection.close()
        yield url, key_id
    finally:
        await drop_database(url)


async def start(stack: RealStack, url: str, environment: str) -> None:
    app = create_app(stack.settings(TrackerSettings, database_url=url, environment=environment))
    async with app.router.lifespan_context(app):
        pass


async def test_the_demo_key_stops_a_production_start_until_it_is_revoked(
    stack: RealStack, seeded: tuple[str, str]
) -> None:
    url, key_id = seeded

    with pytest.raises(UnsafeSecret, match=rf"DRIPLINE_DEMO_API_KEY .* `dripline keys revoke {key_id}`"):
        await start(stack, url, "production")
    await start(stack, url, "local")  # the local stack is where the demo key belongs

    connection = await asyncpg.connect(url)
    try:
        assert await revoke_key(connection, key_id)
    finally:
        await connection.close()
    await start(stack, url, "production")
