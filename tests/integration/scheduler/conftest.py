"""A fresh workspace per test (its own flows, policy and contacts) and the scheduler on the real stack."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import secrets
import textwrap
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from services.ingest.app import create_app as create_ingest
from services.scheduler.app import create_app
from shared.contract.topics import MESSAGES_REQUESTED, TRANSITIONS
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings, IngestSettings, SchedulerSettings
from shared.workspaces import create_key, ensure_workspace
from tests.support.servers import serving
from tests.support.stack import RealStack
from tests.support.topics import RecordDict, read_topic

# Marketing rules off unless a test sets them: tests are about the scheduler, not the policy.
NO_RULES = {"grace_after_signup": "0s", "caps": []}


@dataclass
class Running:
    url: str
    app: FastAPI

    @property
    def fired(self) -> int:
        """Timers this replica fired."""
        return int(self.app.state.scheduler.timers.fired)


@asynccontextmanager
async def running_scheduler(
    stack: RealStack, *, consumer_wait: bool = True, **overrides: Any
) -> AsyncIterator[Running]:
    """A scheduler app on a real port (by default once its consumer holds partitions); leaving the block
    stops it as SIGTERM would."""
    settings = stack.settings(SchedulerSettings, timer_poll_seconds=0.2, outbox_poll_seconds=0.2, **overrides)
    app = create_app(settings)
    async with serving(app) as url:
        if consumer_wait:
            await until(lambda: app.state.scheduler.consuming, timeout=30)
        yield Running(url, app)


async def until(condition: Callable[[], bool], *, timeout: float) -> None:
    """Poll `condition` with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        assert loop.time() < deadline, "timed out"
        await asyncio.sleep(0.05)


@dataclass
class Shop:
    workspace_id: str
    key: str
    ingest: httpx.AsyncClient
    stack: RealStack
    scheduler_url: str
    topic_prefix: str

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    @asynccontextmanager
    async def scheduler(self, url: str | None = None) -> AsyncIterator[httpx.AsyncClient]:
        """A client of the scheduler API as this shop."""
        async with httpx.AsyncClient(base_url=url or self.scheduler_url, headers=self.headers(), timeout=30) as client:
            yield client

    def _stack(self) -> RealStack:
        return dataclasses.replace(self.stack, topic_prefix=self.topic_prefix)

    async def signup(self, email: str, **fields: Any) -> str:
        """A sign-up that agrees to marketing (subscribed at once: these workspaces have double opt-in off)."""
        body = {"type": "signup", "contact": {"email": email}, "consent": {"marketing": True}, **fields}
        response = await self.ingest.post("/v1/events", json=body)
        assert response.status_code == 202, response.text
        return str(response.json()["event_id"])

    async def event(self, body: dict[str, Any]) -> str:
        response = await self.ingest.post("/v1/events", json=body)
        assert response.status_code == 202, response.text
        return str(response.json()["event_id"])

    async def requested(
        self, count: int, *, settle: float = 0.0, timeout: float = 30.0, where: Callable[[RecordDict], bool] = bool
    ) -> list[RecordDict]:
        """messages.requested records of this workspace (waits for `count`, then `settle` seconds for extras)."""
        return await read_topic(
            self._stack(),
            MESSAGES_REQUESTED,
            count=count,
            where=lambda r: r.get("workspace_id") == self.workspace_id and where(r),
            timeout=timeout,
            settle=settle,
        )

    async def transitions(
        self, count: int, *, where: Callable[[RecordDict], bool] = bool, timeout: float = 30.0
    ) -> list[RecordDict]:
        return await read_topic(
            self._stack(),
            TRANSITIONS,
            count=count,
            where=lambda r: r.get("workspace_id") == self.workspace_id and where(r),
            timeout=timeout,
        )


async def publish(scheduler: httpx.AsyncClient, source: str) -> dict[str, Any]:
    response = await scheduler.post(
        "/v1/flows", content=textwrap.dedent(source), headers={"Content-Type": "application/yaml"}
    )
    assert response.status_code in (200, 201), response.text
    body: dict[str, Any] = response.json()
    return body


async def set_policy(scheduler: httpx.AsyncClient, policy: dict[str, Any]) -> None:
    response = await scheduler.put("/v1/policy", json=policy)
    assert response.status_code == 200, response.text


async def new_workspace(stack: RealStack) -> tuple[str, str]:
    """A workspace and key of the test's own, with marketing rules and double opt-in off."""
    workspace_id = f"flows-{secrets.token_hex(4)}"
    connection = await asyncpg.connect(stack.database_url)
    try:
        await ensure_workspace(connection, workspace_id, "Flows test shop")
        key = await create_key(connection, workspace_id, "tests")
        await connection.execute(
            "UPDATE workspaces SET settings = jsonb_build_object('flow_policy', $2::jsonb, 'double_opt_in', false) "
            "WHERE id = $1",
            workspace_id,
            json.dumps(NO_RULES),
        )
    finally:
        await connection.close()
    return workspace_id, key


@pytest.fixture(scope="module")
async def scheduler_url(stack: RealStack) -> AsyncIterator[str]:
    """One scheduler per test module: joining the consumer group takes seconds on the local broker."""
    async with running_scheduler(stack) as running:
        yield running.url


@pytest.fixture
async def shop(stack: RealStack, ingest_url: str, scheduler_url: str) -> AsyncIterator[Shop]:
    """Shadows the session-wide shop: a workspace of this test's own, so flows and policies never mix."""
    workspace_id, key = await new_workspace(stack)
    async with httpx.AsyncClient(base_url=ingest_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as ingest:
        yield Shop(workspace_id, key, ingest, stack, scheduler_url, stack.topic_prefix)


@pytest.fixture
async def own_topics_shop(stack: RealStack) -> AsyncIterator[Shop]:
    """A shop on topics of its own (so its own consumer group), with its own ingest API and no scheduler:
    the test starts and stops the schedulers it needs without disturbing other modules'."""
    prefix = f"{stack.topic_prefix}own{secrets.token_hex(2)}."
    await ensure_topics(stack.settings(CommonSettings, topic_prefix=prefix))
    workspace_id, key = await new_workspace(stack)
    async with (
        serving(create_ingest(stack.settings(IngestSettings, topic_prefix=prefix))) as ingest_url,
        httpx.AsyncClient(base_url=ingest_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as ingest,
    ):
        yield Shop(workspace_id, key, ingest, stack, "", prefix)
