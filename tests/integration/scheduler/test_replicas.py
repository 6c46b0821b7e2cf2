"""Two scheduler replicas, each with several timer workers, fire a shared set of due timers:
every step happens exactly once.

The second replica runs as a timer and relay worker only (no consumer), the shape replicas take
beyond the partition count; the test runs on topics of its own so no other scheduler interferes.
"""

from __future__ import annotations

import uuid
from collections import Counter

from tests.integration.scheduler.conftest import Shop, publish, running_scheduler
from tests.integration.scheduler.test_flow_runs import TWO_STEPS
from tests.support.stack import RealStack

CONTACTS = 8


async def test_two_replicas_fire_each_timer_once(own_topics_shop: Shop, stack: RealStack) -> None:
    shop = own_topics_shop
    async with running_scheduler(stack, topic_prefix=shop.topic_prefix, timer_batch=1, timer_workers=3) as first:
        async with shop.scheduler(first.url) as scheduler:
            await publish(scheduler, TWO_STEPS)
        for _ in range(CONTACTS):
            await shop.signup(f"{uuid.uuid4().hex[:10]}@example.com")
        await shop.requested(CONTACTS)
        async with running_scheduler(
            stack, topic_prefix=shop.topic_prefix, timer_batch=1, timer_workers=3, consumer_wait=False
        ) as second:
            messages = await shop.requested(2 * CONTACTS, settle=1.0)
            fired = (first.fired, second.fired)
    per_template = Counter(m["template_id"] for m in messages)
    assert per_template == {"welcome-hello": CONTACTS, "welcome-checkin": CONTACTS}
    assert len({m["event_id"] for m in messages}) == 2 * CONTACTS
    assert sum(fired) == CONTACTS and min(fired) > 0, fired
