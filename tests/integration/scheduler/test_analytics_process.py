"""The analytics fold in a process of its own, as the cluster runs it: a scheduler with the fold off
runs intake, timers and the relay without the analytics consumer, and a fold-only scheduler beside
it folds what they publish into the reports while doing nothing else.

The test runs on topics of its own (so consumer groups of its own): no other scheduler interferes.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

from shared.contract import Engagement
from shared.contract.topics import ENGAGEMENT
from shared.kafka.producer import Producer
from shared.settings import CommonSettings
from tests.integration.scheduler.conftest import Shop, publish, running_scheduler, until
from tests.integration.scheduler.test_flow_runs import TWO_STEPS
from tests.integration.sender.conftest import eventually
from tests.support.stack import RealStack
from tests.support.topics import RecordDict

pytestmark = pytest.mark.stack

FOLD_ONLY = {"scheduler_intake": False, "scheduler_timers": False, "scheduler_analytics": True}


async def click(shop: Shop, message: RecordDict) -> None:
    """A person clicks the message (as the tracker would record it)."""
    now = datetime.now(UTC)
    record = Engagement(
        event_id=f"click-{message['event_id']}", workspace_id=shop.workspace_id, contact_id=message["contact_id"],
        occurred_at=now, received_at=now, flow_id=message["flow_id"], step_id=message["step_id"],
        message_id=message["event_id"], kind="clicked", url="https://example.com/welcome",
    )  # fmt: skip
    producer = Producer(shop.stack.settings(CommonSettings, topic_prefix=shop.topic_prefix))
    await producer.start()
    try:
        await producer.publish(ENGAGEMENT, [record])
    finally:
        await producer.stop()


async def test_a_fold_only_process_folds_what_the_fold_less_scheduler_publishes(
    own_topics_shop: Shop, stack: RealStack
) -> None:
    shop = own_topics_shop
    async with (
        running_scheduler(stack, topic_prefix=shop.topic_prefix, scheduler_analytics=False) as main,
        running_scheduler(stack, topic_prefix=shop.topic_prefix, consumer_wait=False, **FOLD_ONLY) as fold,
    ):
        assert "analytics" not in main.app.state.resources.extras, "the fold is off in the main scheduler"
        analytics = fold.app.state.resources.extras["analytics"]
        await until(lambda: analytics.consuming, timeout=30)
        async with shop.scheduler(main.url) as api:
            await publish(api, TWO_STEPS)
        await shop.signup(f"{uuid.uuid4().hex[:10]}@example.com")
        # The follow-up comes 2 s after it: on a slow read both may be on the topic already.
        [hello] = await shop.requested(1, where=lambda record: record["step_id"] == "hello")
        await click(shop, hello)

        async with shop.scheduler(fold.url) as reports:

            async def hello_counts() -> dict[str, Any] | None:
                answer = await reports.get("/v1/reports/flows/welcome")
                if answer.status_code == 404:  # the fold has not seen the flow's first record yet
                    return None
                report = answer.json()
                counts: dict[str, Any] = next(s["counts"] for s in report["steps"] if s["step_id"] == "hello")
                return counts if (counts["requested"], counts["clicked"]) == (1, 1) else None

            await eventually(hello_counts, timeout=15, what="the fold to count the request and the click")
        await shop.requested(2)  # the follow-up, after the flow's wait: a timer fired and was relayed
        main_loops, fold_loops = main.app.state.scheduler, fold.app.state.scheduler
        assert main.fired == 1 and main_loops.relay.relayed > 0
        assert fold_loops.consumer is None and fold.fired == 0 and fold_loops.relay.relayed == 0, "the fold only"
