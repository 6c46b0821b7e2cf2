"""A record the scheduler cannot take (a NUL in an event name, which PostgreSQL refuses) goes to dead
letters with its reason, and the contact's next event on the same partition still moves them through
their flow; the intake loop never crash-loops and the scheduler stays ready.

Runs on topics of its own, with its own scheduler: the poison never reaches other tests' consumers.
"""

from __future__ import annotations

import dataclasses
import uuid
from datetime import UTC, datetime

import httpx
import orjson
import pytest

from shared.contract.shop import TrackEvent
from shared.contract.topics import DEAD_LETTERS, EVENTS
from shared.kafka.codec import headers_of
from shared.kafka.producer import OutgoingRecord, Producer
from shared.settings import CommonSettings
from tests.integration.scheduler.conftest import Shop, publish, running_scheduler
from tests.support.stack import RealStack
from tests.support.topics import read_topic

pytestmark = pytest.mark.stack

HELP_DESK = """
id: help-desk
name: Help desk
triggers:
  - type: event
    event: signup
  - type: event
    event: asked-for-help
entry:
  frequency: every_time
steps:
  - id: hello
    type: send
    template: welcome-hello
"""


def track(shop: Shop, contact_id: str, name: str) -> OutgoingRecord:
    """A track event as raw JSON, straight onto the topic the way a faulty producer would write it."""
    now = datetime.now(UTC)
    event = TrackEvent(
        type="track",
        name="placeholder",
        event_id=f"help-{uuid.uuid4().hex[:12]}",
        workspace_id=shop.workspace_id,
        contact_id=contact_id,
        occurred_at=now,
        received_at=now,
        properties={"note": "private"},
    )
    value = orjson.dumps({**event.model_dump(mode="json"), "name": name})
    return OutgoingRecord(EVENTS, contact_id, value, headers_of("TrackEvent", 1, "track"))


async def test_an_event_with_a_nul_goes_to_dead_letters_and_the_contacts_next_event_still_runs(
    own_topics_shop: Shop, stack: RealStack
) -> None:
    shop = own_topics_shop
    fast = {"consumer_retry_seconds": 0.05, "consumer_poison_attempts": 3}
    async with running_scheduler(stack, topic_prefix=shop.topic_prefix, **fast) as scheduler:
        async with shop.scheduler(scheduler.url) as api:
            await publish(api, HELP_DESK)
        await shop.signup(f"{uuid.uuid4().hex[:10]}@example.com")
        [hello] = await shop.requested(1)
        contact_id = hello["contact_id"]

        poison, valid = track(shop, contact_id, "help\x00me"), track(shop, contact_id, "asked-for-help")
        producer = Producer(stack.settings(CommonSettings, topic_prefix=shop.topic_prefix))
        await producer.start()
        try:
            await producer.send_all([poison, valid])  # one key: one partition, the poison first
        finally:
            await producer.stop()

        again = await shop.requested(2, timeout=30, where=lambda r: r["contact_id"] == contact_id)
        assert len(again) == 2, "the event after the poison on the same partition still runs the flow"

        own = dataclasses.replace(stack, topic_prefix=shop.topic_prefix)
        poison_id = orjson.loads(poison.value or b"{}")["event_id"]
        [dead] = await read_topic(
            own,
            DEAD_LETTERS,
            count=1,
            where=lambda r: r.get("event_id") == poison_id and r["__headers__"]["source-group"] == "scheduler",
        )
        assert dead["__headers__"]["source-topic"] == EVENTS.full_name(shop.topic_prefix)
        reason = dead["__headers__"]["reason"]
        assert "0x00" in reason or "name" in reason, reason
        assert set(dead) - {"__key__", "__headers__"} == {"event_id", "workspace_id", "contact_id"}

        async with httpx.AsyncClient(base_url=scheduler.url) as probe:
            ready = await probe.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["loops"]["intake"] == "ok"
