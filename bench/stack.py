"""The bench's own stack: embedded PostgreSQL and a Tansu broker, a fresh database and topic prefix.

Same approach as the test stack, so a bench run never touches `make run`'s data, and
every service under test runs in its own process pointed at this stack.
"""

from __future__ import annotations

import os
import secrets
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import asyncpg

from dripline.devstack.broker import TansuBroker, free_port
from dripline.devstack.postgres import drop_database, ensure_database, start_embedded, with_database
from shared.db.migrate import upgrade_async
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings
from shared.workspaces import create_key, ensure_workspace

S = TypeVar("S", bound=CommonSettings)
WORKSPACE = "bench-shop"
SIGNING_KEYS = "bench:bench-signing-secret-0123456789"
DATABASE_PREFIX = "dripline_bench_"


@dataclass
class BenchStack:
    database_url: str
    bootstrap: str
    topic_prefix: str
    broker: TansuBroker
    api_key: str
    partitions: int = 4

    def settings(self, cls: type[S], **overrides: Any) -> S:
        """Settings pointed at this stack; the caller's environment does not leak in."""
        values: dict[str, Any] = {
            "database_url": self.database_url,
            "kafka_bootstrap_servers": self.bootstrap,
            "topic_prefix": self.topic_prefix,
            "topic_partitions": self.partitions,
            "log_json": False,
            **overrides,
        }
        return cls.model_construct(**{**cls().model_dump(), **values})

    def service_env(self, **settings: str) -> dict[str, str]:
        """Environment of a service process: this stack, quiet logs, plus `DRIPLINE_<NAME>` settings."""
        env = {
            "PATH": os.environ.get("PATH", ""),
            "HOME": os.environ.get("HOME", "/tmp"),
            "DATABASE_URL": self.database_url,
            "KAFKA_BOOTSTRAP_SERVERS": self.bootstrap,
            "DRIPLINE_TOPIC_PREFIX": self.topic_prefix,
            "DRIPLINE_TOPIC_PARTITIONS": str(self.partitions),
            "DRIPLINE_LOG_LEVEL": "WARNING",
            "DRIPLINE_LINK_SIGNING_KEYS": SIGNING_KEYS,
            "DRIPLINE_ENVIRONMENT": "local",  # a bench run uses the built-in development secrets
            "PYTHONPATH": str(Path.cwd()),
        }
        env.update({f"DRIPLINE_{name.upper()}": value for name, value in settings.items()})
        return env

    async def fresh_topics(self, label: str) -> None:
        """Switch to new, empty topics: a stage's consumers must not chew through earlier stages' records."""
        self.topic_prefix = f"{self.topic_prefix.split('.')[0]}-{label}."
        await ensure_topics(self.settings(CommonSettings))

    async def connect(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.database_url)


async def start_bench_stack(data_dir: Path) -> BenchStack:
    run_id = secrets.token_hex(4)
    server_url = start_embedded(data_dir / "bench-postgres")
    database_url = with_database(server_url, f"{DATABASE_PREFIX}{run_id}")
    await ensure_database(database_url)
    broker = TansuBroker(free_port())
    broker.start()
    stack = BenchStack(database_url, broker.bootstrap, f"b{run_id}.", broker, api_key="")
    settings = stack.settings(CommonSettings)
    await upgrade_async(settings)
    await ensure_topics(settings)
    connection = await stack.connect()
    try:
        await ensure_workspace(connection, WORKSPACE, "Bench shop")
        stack.api_key = await create_key(connection, WORKSPACE, "bench")
    finally:
        await connection.close()
    return stack


async def stop_bench_stack(stack: BenchStack) -> None:
    stack.broker.stop()
    await drop_database(stack.database_url)


def python() -> str:
    return sys.executable
