"""With the broker gone, nothing is acknowledged: 503 with Retry-After, and a retry later lands once."""

from __future__ import annotations

import uuid

import httpx
import pytest

from dripline.devstack.broker import TansuBroker, free_port
from services.ingest.app import create_app
from shared.contract.topics import SIGNUPS
from shared.kafka.admin import ensure_topics
from shared.settings import IngestSettings
from tests.integration.test_ingest_events import event_of
from tests.support.servers import serving
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack


async def test_an_event_posted_while_the_broker_is_down_gets_503_and_is_not_written(
    stack: RealStack, api_key: tuple[str, str]
) -> None:
    broker = TansuBroker(free_port())
    broker.start()
    own = RealStack(stack.database_url, broker.bootstrap, stack.topic_prefix, broker)
    settings = own.settings(IngestSettings, ingest_broker_timeout_seconds=2.0)
    await ensure_topics(settings)
    try:
        async with (
            serving(create_app(settings)) as url,
            httpx.AsyncClient(base_url=url, headers={"X-Api-Key": api_key[1]}, timeout=30) as shop,
        ):
            before = await shop.post("/v1/events", json=event_of("signup"))
            assert before.status_code == 202

            broker.stop()
            event_id = f"outage-{uuid.uuid4().hex}"
            during = await shop.post("/v1/events", json=event_of("signup", event_id=event_id))
            assert during.status_code == 503
            assert during.headers["Retry-After"].isdigit()
            assert (await shop.get("/readyz")).status_code == 503
            batch = [event_of("track", name="viewed", contact={"external_id": "c1"}) for _ in range(50)]
            during_batch = await shop.post("/v1/events/batch", json={"events": batch})
            assert during_batch.status_code == 503
            assert during_batch.json()["error"] == "broker_unavailable"
            assert during_batch.headers["Retry-After"].isdigit()

            broker.start()  # memory-only: comes back empty
            await ensure_topics(settings)
            nothing = await read_topic(own, SIGNUPS, count=1, where=lambda r: r["event_id"] == event_id, timeout=1)
            assert nothing == []

            retried = await _post_until_accepted(shop, event_of("signup", event_id=event_id))
            assert retried.json()["event_id"] == event_id
            landed = await read_topic(own, SIGNUPS, count=1, where=lambda r: r["event_id"] == event_id, settle=0.5)
            assert len(landed) == 1
    finally:
        broker.stop()


async def _post_until_accepted(shop: httpx.AsyncClient, body: dict[str, object]) -> httpx.Response:
    """A shop's retry loop: the producer reconnects on its own after the broker returns."""
    for _ in range(20):
        response = await shop.post("/v1/events", json=body)
        if response.status_code == 202:
            return response
        assert response.status_code == 503
    raise AssertionError("never accepted after the broker came back")
