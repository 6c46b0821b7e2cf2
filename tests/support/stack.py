"""The real stack for tests: PostgreSQL (embedded or DATABASE_URL) and a broker (Tansu or KAFKA_BOOTSTRAP_SERVERS).

Each test run gets its own database and topic prefix, so runs never collide, even
against a shared server.
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
from alembic import command

from dripline.devstack.broker import EMBEDDED_GROUP_TIMING, TansuBroker, free_port
from dripline.devstack.postgres import drop_database, ensure_database, start_embedded, with_database
from shared.db.migrate import alembic_config, upgrade, upgrade_async
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings

ROOT = Path(__file__).resolve().parents[2]
S = TypeVar("S", bound=CommonSettings)


@dataclass
class RealStack:
    database_url: str
    bootstrap: str
    topic_prefix: str
    broker: TansuBroker | None

    def settings(self, cls: type[S], **overrides: Any) -> S:
        """Service settings pointed at this stack; environment variables do not leak in."""
        values: dict[str, Any] = {
            "database_url": self.database_url,
            "kafka_bootstrap_servers": self.bootstrap,
            "topic_prefix": self.topic_prefix,
            "topic_partitions": 4,
            "log_json": False,
            **EMBEDDED_GROUP_TIMING,
            **overrides,
        }
        return cls.model_construct(**{**cls().model_dump(), **values})


async def start_test_stack() -> RealStack:
    run_id = secrets.token_hex(4)
    server_url = os.environ.get("DATABASE_URL") or start_embedded(ROOT / ".dripline" / "test-postgres")
    database_url = with_database(server_url, f"dripline_test_{run_id}")
    await ensure_database(database_url)
    broker: TansuBroker | None = None
    bootstrap = os.environ.get("KAFKA_BOOTSTRAP_SERVERS")
    if not bootstrap:
        broker = TansuBroker(free_port())
        broker.start()
        bootstrap = broker.bootstrap
    stack = RealStack(database_url, bootstrap, f"t{run_id}.", broker)
    settings = stack.settings(CommonSettings)
    await upgrade_async(settings)
    await ensure_topics(settings)
    return stack


async def stop_test_stack(stack: RealStack) -> None:
    if stack.broker:
        stack.broker.stop()
    await drop_database(stack.database_url)


@dataclass
class OwnDatabase:
    """A database of one test's own, for migrations: moved between revisions, with a connection open on it."""

    settings: CommonSettings
    connection: asyncpg.Connection

    async def upgrade(self, revision: str = "heads") -> None:
        await asyncio.to_thread(upgrade, self.settings, revision)

    async def downgrade(self, revision: str) -> None:
        await asyncio.to_thread(command.downgrade, alembic_config(self.settings), revision)


@asynccontextmanager
async def own_database(stack: RealStack, name: str, revision: str) -> AsyncIterator[OwnDatabase]:
    """A fresh database at `revision`; dropped afterwards."""
    url = with_database(stack.database_url, f"dripline_{name}_{secrets.token_hex(4)}")
    await ensure_database(url)
    try:
        own = OwnDatabase(stack.settings(CommonSettings, database_url=url), await asyncpg.connect(url))
        try:
            await own.upgrade(revision)
            yield own
        finally:
            await own.connection.close()
    finally:
        await drop_database(url)
