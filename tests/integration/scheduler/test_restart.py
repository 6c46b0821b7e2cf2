"""A scheduler stopped mid-wait and started again neither loses nor repeats a step.

This module runs its own topics (and so its own consumer group) and no scheduler besides the ones
it starts, so the step after the wait can only come from the restarted process.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import httpx
import pytest

from services.ingest.app import create_app as create_ingest
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings, IngestSettings
from tests.integration.scheduler.conftest import Shop, new_workspace, publish, running_scheduler
from tests.integration.scheduler.test_flow_runs import TWO_STEPS
from tests.support.servers import serving
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack


@pytest.fixture
async def restart_shop(stack: RealStack) -> AsyncIterator[Shop]:
    prefix = f"{stack.topic_prefix}restart{uuid.uuid4().hex[:4]}."
    await ensure_topics(stack.settings(CommonSettings, topic_prefix=prefix))
    workspace_id, key = await new_workspace(stack)
    async with (
        serving(create_ingest(stack.settings(IngestSettings, topic_prefix=prefix))) as ingest_url,
        httpx.AsyncClient(base_url=ingest_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as ingest,
    ):
        yield Shop(workspace_id, key, ingest, stack, "", prefix)


async def test_a_restart_mid_wait_neither_loses_nor_repeats_a_step(restart_shop: Shop, stack: RealStack) -> None:
    shop = restart_shop
    async with running_scheduler(stack, topic_prefix=shop.topic_prefix) as url:
        async with shop.scheduler(url) as scheduler:
            await publish(scheduler, TWO_STEPS.replace("duration: 2s", "duration: 3s"))
        await shop.signup(f"{uuid.uuid4().hex[:10]}@example.com")
        await shop.requested(1)
    # Stopped while the contact waits: consumer committed, timer loop and relay flushed.
    await asyncio.sleep(0.5)
    async with running_scheduler(stack, topic_prefix=shop.topic_prefix, consumer_wait=False):
        messages = await shop.requested(2, settle=2.0)
    assert [m["template_id"] for m in messages] == ["welcome-hello", "welcome-checkin"]
    assert len({m["event_id"] for m in messages}) == 2
