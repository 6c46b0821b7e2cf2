"""A real stack whose services are tuned for tests that break things: short backoffs, quick retries, and a
database or broker of the test's own when the test kills or sweeps them."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import httpx

from dripline.devstack.broker import TansuBroker, free_port
from dripline.devstack.postgres import drop_database, ensure_database, with_database
from shared.db.migrate import upgrade_async
from shared.settings import CommonSettings
from tests.integration.scheduler.conftest import publish
from tests.integration.sender.conftest import EXAMPLES
from tests.support.stack import RealStack, S
from tests.support.system import System

# A crashed loop is back in a fraction of a second and counts as healthy after one; a failing record is
# tried again at once: the test sees every state without waiting long.
FAST: dict[str, Any] = {
    "loop_backoff_initial_seconds": 0.3,
    "loop_backoff_max_seconds": 2.0,
    "loop_healthy_after_seconds": 1.0,
    "consumer_retry_seconds": 0.05,
}


WELCOME_FLOW = """
id: welcome
name: Welcome
triggers:
  - type: event
    event: signup
entry:
  frequency: once
steps:
  - id: hello
    type: send
    template: welcome-hello
"""


async def welcome_on_signup(system: System) -> None:
    """The example `welcome-hello` template, sent once to everyone who signs up."""
    await system.sender.runtime.templates.publish(system.workspace_id, (EXAMPLES / "welcome-hello.yaml").read_text())
    await publish(system.scheduler, WELCOME_FLOW)


@dataclass
class Tuned(RealStack):
    """Every service built on this stack gets `tuning` (the settings its class has), under its own overrides."""

    tuning: dict[str, Any] = field(default_factory=dict)

    def settings(self, cls: type[S], **overrides: Any) -> S:
        fitting = {name: value for name, value in self.tuning.items() if name in cls.model_fields}
        return super().settings(cls, **{**fitting, **overrides})


@asynccontextmanager
async def own_stack(stack: RealStack, **tuning: Any) -> AsyncIterator[Tuned]:
    """A migrated database and a Tansu broker of the test's own (the test may kill the broker), tuned."""
    url = with_database(stack.database_url, f"dripline_own_{secrets.token_hex(4)}")
    await ensure_database(url)
    broker = TansuBroker(free_port())
    broker.start()
    own = Tuned(url, broker.bootstrap, stack.topic_prefix, broker, {**FAST, **tuning})
    try:
        await upgrade_async(own.settings(CommonSettings))
        yield own
    finally:
        broker.stop()
        await drop_database(url)


async def all_ready(urls: Iterable[str], *, timeout: float = 30.0) -> dict[str, dict[str, Any]]:
    """Each service's /readyz once it answers 200 (fails naming the ones still unready at the deadline)."""
    waiting = set(urls)
    ready: dict[str, dict[str, Any]] = {}
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    last: dict[str, str] = {}
    async with httpx.AsyncClient(timeout=5) as client:
        while waiting:
            for url in sorted(waiting):
                try:
                    answer = await client.get(f"{url}/readyz")
                except httpx.HTTPError as error:
                    last[url] = repr(error)
                    continue
                if answer.status_code == 200:
                    ready[url] = answer.json()
                    waiting.discard(url)
                else:
                    last[url] = answer.text
            if waiting:
                assert loop.time() < deadline, f"not ready: {[(url, last.get(url)) for url in sorted(waiting)]}"
                await asyncio.sleep(0.2)
    return ready
