"""A scheduler stopped mid-wait and started again neither loses nor repeats a step.

This module runs its own topics (and so its own consumer group) and no scheduler besides the ones
it starts, so the step after the wait can only come from the restarted process.
"""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.integration.scheduler.conftest import Shop, publish, running_scheduler
from tests.integration.scheduler.test_flow_runs import TWO_STEPS
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack


async def test_a_restart_mid_wait_neither_loses_nor_repeats_a_step(own_topics_shop: Shop, stack: RealStack) -> None:
    shop = own_topics_shop
    async with running_scheduler(stack, topic_prefix=shop.topic_prefix) as first:
        async with shop.scheduler(first.url) as scheduler:
            await publish(scheduler, TWO_STEPS.replace("duration: 2s", "duration: 3s"))
        await shop.signup(f"{uuid.uuid4().hex[:10]}@example.com")
        await shop.requested(1)
    # Stopped while the contact waits: consumer committed, timer loop and relay flushed.
    await asyncio.sleep(0.5)
    async with running_scheduler(stack, topic_prefix=shop.topic_prefix, consumer_wait=False):
        messages = await shop.requested(2, settle=2.0)
    assert [m["template_id"] for m in messages] == ["welcome-hello", "welcome-checkin"]
    assert len({m["event_id"] for m in messages}) == 2
