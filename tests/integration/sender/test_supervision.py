"""The sender's loops are supervised: a consumer that dies is logged, counted and restarted with a fresh
client, `/readyz` names it until it has run well again, and mail flows afterwards; a broker restart
(which empties the local broker, topics, groups and offsets alike) costs a pause, not a process restart."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiokafka.errors import KafkaConnectionError

from dripline.devstack.broker import TansuBroker, free_port
from shared.errors import BrokerUnavailable
from shared.kafka.admin import ensure_topics
from shared.settings import CommonSettings
from tests.integration.sender.conftest import Sender, eventually, running_sender
from tests.support.stack import RealStack

pytestmark = pytest.mark.stack

# Short backoff and a short "healthy after" so the test sees each state without waiting long.
FAST: dict[str, Any] = {
    "loop_backoff_initial_seconds": 0.3,
    "loop_backoff_max_seconds": 2.0,
    "loop_healthy_after_seconds": 1.0,
    "consumer_retry_seconds": 0.05,
}


def readiness(client: httpx.AsyncClient, status: int) -> Callable[[], Awaitable[dict[str, Any] | None]]:
    async def probe() -> dict[str, Any] | None:
        response = await client.get("/readyz")
        body: dict[str, Any] = response.json()
        return body if response.status_code == status else None

    return probe


async def mail_goes_out(sender: Sender, *, timeout: float) -> None:
    address = f"back-{uuid.uuid4().hex[:8]}@example.com"
    contact = await sender.contact(email=address)
    request = await sender.request(contact, "welcome-hello")
    await sender.settled(request.event_id, "sent", timeout=timeout)
    assert len(sender.mails_to(address)) == 1


async def test_a_consumer_that_dies_is_restarted_and_readyz_names_it_until_it_is_back(
    stack: RealStack, api_key: tuple[str, str]
) -> None:
    prefix = f"{stack.topic_prefix}sup{uuid.uuid4().hex[:4]}."
    async with (
        running_sender(stack, api_key[1], topic_prefix=prefix, **FAST) as sender,
        httpx.AsyncClient(base_url=sender.url) as probe,
    ):
        await sender.publish_example("welcome-hello")
        ready = await eventually(readiness(probe, 200), timeout=15, what="the sender to be ready")
        assert set(ready["loops"]) >= {"consumer", "retries", "leases", "ledger-watch"}

        loop = sender.runtime.consumer
        assert loop is not None
        client = loop.consumer

        async def broken(*args: Any, **kwargs: Any) -> Any:
            raise KafkaConnectionError("the broker went away mid-fetch")

        client.getmany = broken  # type: ignore[method-assign]  # the next poll kills the loop from inside

        down = await eventually(readiness(probe, 503), timeout=30, what="/readyz to name the dead consumer")
        assert "KafkaConnectionError" in down["loops"]["consumer"], down
        assert down["loops"]["retries"] == "ok" and down["checks"] == {"database": "ok", "broker": "ok"}

        await eventually(readiness(probe, 200), timeout=30, what="the restarted consumer to count as healthy")
        assert loop.consumer is not client, "the restart joins the group with a fresh client"
        metrics = (await probe.get("/metrics")).text
        assert 'dripline_loop_restarts_total{loop="consumer",service="sender"}' in metrics

        await mail_goes_out(sender, timeout=30)

        async def lag_reported() -> bool:
            return 'dripline_consumer_lag{group="sender",partition=' in (await probe.get("/metrics")).text

        await eventually(lag_reported, timeout=30, what="the consumer's lag per partition")


async def test_the_sender_keeps_delivering_across_a_broker_restart(stack: RealStack, api_key: tuple[str, str]) -> None:
    broker = TansuBroker(free_port())
    broker.start()
    own = dataclasses.replace(stack, bootstrap=broker.bootstrap, broker=broker)
    prefix = f"{stack.topic_prefix}restart."
    try:
        async with running_sender(own, api_key[1], topic_prefix=prefix, **FAST) as sender:
            await sender.publish_example("welcome-hello")
            await mail_goes_out(sender, timeout=30)

            # Memory only: the restarted broker has no topics, no groups and no committed offsets.
            broker.stop()
            broker.start()
            await ensure_topics(own.settings(CommonSettings, topic_prefix=prefix))

            address = f"after-{uuid.uuid4().hex[:8]}@example.com"
            contact = await sender.contact(email=address)

            async def requested() -> str | None:
                try:
                    return (await sender.request(contact, "welcome-hello")).event_id
                except BrokerUnavailable:
                    return None  # the test's own producer reconnects too

            message_id = await eventually(requested, timeout=30, what="the broker to take a request")
            await sender.settled(message_id, "sent", timeout=60)
            assert len(sender.mails_to(address)) == 1
            async with httpx.AsyncClient(base_url=sender.url) as probe:
                await eventually(readiness(probe, 200), timeout=30, what="the sender to be ready again")
    finally:
        broker.stop()
